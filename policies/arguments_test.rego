# Unit tests of argument constraints: paths, URLs and secret exfiltration.
package portcullis_test

import data.portcullis
import rego.v1

read(path) := decide(call("demo", "filesystem", "read_text_file", {"path": path}))

# ---------------------------------------------------------------- paths

test_paths_inside_the_sandbox_are_allowed if {
	read("/tmp/portcullis-sandbox").allow == true
	read("/tmp/portcullis-sandbox/a/b.txt").allow == true
	read("/tmp/portcullis-sandbox/./a//b.txt").allow == true
	read("/opt/portcullis/var/sandbox/report.md").allow == true
	read("/work/main/var/sandbox/notes/a.md").allow == true
	read("/work/main/var/sandbox").allow == true
}

test_root_patterns_match_whole_segments if {
	read("/work/main/var/sandboxx/a").allow == false
	read("/work/main/var/sandbox-evil/a").allow == false
	read("/work/main/xvar/sandbox/a").allow == false
	read("/var/sandbox/../../etc/passwd").allow == false
	read("/var/sandbox/a").allow == false
}

test_paths_outside_the_sandbox_are_denied if {
	d := read("/etc/passwd")
	d.allow == false
	"argument 'path' is outside the granted roots" in d.reasons
	read("/tmp/portcullis-sandbox-evil/a.txt").allow == false
	read("/tmp").allow == false
	read("/").allow == false
}

test_traversal_is_denied if {
	read("/tmp/portcullis-sandbox/../../etc/passwd").allow == false
	read("/tmp/portcullis-sandbox/a/..").allow == false
	read("/tmp/portcullis-sandbox/%2e%2e/%2e%2e/etc/passwd").allow == false
	read("/tmp/portcullis-sandbox/%2E%2E%2Fetc").allow == false
	read("/tmp/portcullis-sandbox/..%2fetc").allow == false
	read("/tmp/portcullis-sandbox/a\\..\\..\\etc").allow == false
}

test_segments_of_only_dots_are_traversal if {
	# Naive "../" stripping turns "....//" into "../".
	d := read("/tmp/portcullis-sandbox/....//....//etc/passwd")
	d.allow == false
	"argument 'path' is outside the granted roots" in d.reasons
	read("/tmp/portcullis-sandbox/...").allow == false
	read("/tmp/portcullis-sandbox/..../etc").allow == false
	read("/tmp/portcullis-sandbox/a/.../b").allow == false
	read("/tmp/portcullis-sandbox/..a/b...c/.d").allow == true
}

test_lookalike_dots_are_dots if {
	# Characters NFKC turns into dots: fullwidth, one/two dot leaders, ellipsis, small and vertical forms.
	read("/tmp/portcullis-sandbox/\uff0e\uff0e/\uff0e\uff0e/etc/passwd").allow == false
	read("/tmp/portcullis-sandbox/\u2024\u2024/etc").allow == false
	read("/tmp/portcullis-sandbox/\u2025/etc").allow == false
	read("/tmp/portcullis-sandbox/\u2026/etc").allow == false
	read("/tmp/portcullis-sandbox/\ufe52\ufe52/etc").allow == false
	read("/tmp/portcullis-sandbox/\ufe19").allow == false
	read("/tmp/portcullis-sandbox/\ufe30").allow == false
	read("/tmp/portcullis-sandbox/.\uff0e/etc").allow == false
	read("/tmp/portcullis-sandbox/\uff0e").allow == false
}

test_lookalike_dots_inside_names_are_allowed if {
	read("/tmp/portcullis-sandbox/a\uff0etxt").allow == true
	read("/tmp/portcullis-sandbox/\u2025a").allow == true
	read("/tmp/portcullis-sandbox/\u00e9t\u00e9/\u65e5\u672c.txt").allow == true
	read("/tmp/portcullis-sandbox/a b.txt").allow == true
}

test_control_format_and_separator_characters_are_denied if {
	read("/tmp/portcullis-sandbox/a\u0085b").allow == false # C1 control (NEL)
	read("/tmp/portcullis-sandbox/a\u009bb").allow == false
	read("/tmp/portcullis-sandbox/a\u2028b").allow == false # line separator
	read("/tmp/portcullis-sandbox/a\u2029b").allow == false # paragraph separator
	read("/tmp/portcullis-sandbox/.\u200b./etc").allow == false # zero-width space inside ".."
	read("/tmp/portcullis-sandbox/.\u200d./etc").allow == false # zero-width joiner
	read("/tmp/portcullis-sandbox/\ufeff../etc").allow == false # BOM
	read("/tmp/portcullis-sandbox/a\u202eb").allow == false # right-to-left override
	read("/tmp/portcullis-sandbox/a\u2066b").allow == false # bidi isolate
	read("/tmp/portcullis-sandbox/a\u00adb").allow == false # soft hyphen
	read("/tmp/portcullis-sandbox/.\u034f./etc").allow == false # combining grapheme joiner (invisible)
	read("/tmp/portcullis-sandbox/a\ufe0fb").allow == false # variation selector (invisible)
}

test_non_ascii_spaces_are_denied if {
	read("/tmp/portcullis-sandbox/a\u00a0b").allow == false
	read("/tmp/portcullis-sandbox/a\u2009b").allow == false
	read("/tmp/portcullis-sandbox/a\u3000b").allow == false
	read("/tmp/portcullis-sandbox/a\u1680b").allow == false
}

test_lookalike_slashes_backslashes_and_percent_signs_are_denied if {
	# NFKC turns them into "/", "\\" or "%": a new segment or an escape after normalisation.
	read("/tmp/portcullis-sandbox/..\uff0fetc").allow == false
	read("/tmp/portcullis-sandbox/a\u2100b").allow == false # "a/c"
	read("/tmp/portcullis-sandbox/..\uff3cetc").allow == false
	read("/tmp/portcullis-sandbox/..\ufe68etc").allow == false
	read("/tmp/portcullis-sandbox/\uff052e\uff052e").allow == false
	read("/tmp/portcullis-sandbox/\ufe6a2e").allow == false
}

test_nul_relative_and_home_paths_are_denied if {
	read("/tmp/portcullis-sandbox/a.txt\u0000.png").allow == false
	read("notes/a.txt").allow == false
	read("~/secrets").allow == false
	read("").allow == false
}

test_every_path_argument_is_checked if {
	ok := decide(call("demo", "filesystem", "read_multiple_files", {"paths": ["/tmp/portcullis-sandbox/a", "/tmp/portcullis-sandbox/b"]}))
	ok.allow == true
	bad := decide(call("demo", "filesystem", "read_multiple_files", {"paths": ["/tmp/portcullis-sandbox/a", "/etc/shadow"]}))
	bad.allow == false
	"argument 'paths' is outside the granted roots" in bad.reasons
	mv := decide(call("demo", "filesystem", "move_file", {"source": "/tmp/portcullis-sandbox/a", "destination": "/root/a"}))
	mv.allow == false
	"argument 'destination' is outside the granted roots" in mv.reasons
}

test_non_string_path_arguments_are_denied if {
	d := decide(call("demo", "filesystem", "read_text_file", {"path": {"nested": "/tmp/portcullis-sandbox/a"}}))
	d.allow == false
	"argument 'path' must be a string or a list of strings" in d.reasons
}

test_arguments_that_are_false_are_not_an_empty_object if {
	d := decide(call("demo", "filesystem", "read_text_file", false))
	d.allow == false
	"arguments must be an object" in d.reasons
}

test_grant_roots_narrow_the_server_roots if {
	d := decide(call("demo", "filesystem", "read_text_file", {"path": "/tmp/portcullis-sandbox/public/a"}))
		with data.capabilities.agents.demo.grants as {"filesystem": {"tools": ["*"], "roots": ["/tmp/portcullis-sandbox/public/"]}}
	d.allow == true
	e := decide(call("demo", "filesystem", "read_text_file", {"path": "/tmp/portcullis-sandbox/private/a"}))
		with data.capabilities.agents.demo.grants as {"filesystem": {"tools": ["*"], "roots": ["/tmp/portcullis-sandbox/public/"]}}
	e.allow == false
}

# ---------------------------------------------------------------- URLs

gzip(url) := decide(call("demo", "everything", "gzip-file-as-resource", {"name": "a.gz", "data": url}))

test_allowed_url_is_held_for_approval if {
	d := gzip("https://raw.githubusercontent.com/modelcontextprotocol/servers/main/README.md")
	d.allow == true
	d.hold.approvers == ["approver"]
	d.classification == ["demo", "network"]
	gzip("https://files.example.com/a.txt").allow == true
}

test_urls_to_other_hosts_or_schemes_are_denied if {
	d := gzip("https://evil.test/x")
	d.allow == false
	"argument 'data' is not an allowed URL" in d.reasons
	gzip("http://raw.githubusercontent.com/x").allow == false
	gzip("file:///etc/passwd").allow == false
	gzip("raw.githubusercontent.com/x").allow == false
	gzip("https://a.b.example.com/x").allow == false
}

test_userinfo_tricks_are_denied if {
	gzip("https://raw.githubusercontent.com@169.254.169.254/latest").allow == false
	gzip("https://evil.test\\@raw.githubusercontent.com/").allow == false
	gzip("https://raw.githubusercontent.com%2f@evil.test/").allow == false
}

# Blocked addresses, checked against a permissive host list so that only the
# address rules can refuse them.
blocked(url) if not portcullis.url_allowed(url, {"**"})

test_public_addresses_pass_the_address_rules if {
	portcullis.url_allowed("https://1.1.1.1/", {"**"})
	portcullis.url_allowed("https://example.org./x", {"**"})
	portcullis.url_allowed("https://[2606:4700::1111]:443/", {"**"})
	portcullis.url_allowed("HTTPS://Example.ORG/", {"**"})
}

test_loopback_in_every_notation_is_blocked if {
	blocked("https://127.0.0.1/")
	blocked("https://127.0.0.1:8443/")
	blocked("https://2130706433/")
	blocked("https://0x7f000001/")
	blocked("https://0x7F.0.0.1/")
	blocked("https://0177.0.0.1/")
	blocked("https://017700000001/")
	blocked("https://127.1/")
	blocked("https://127.0.1/")
	blocked("https://127.0.0.1./")
	blocked("https://0/")
	blocked("https://[::1]/")
	blocked("https://[0:0:0:0:0:0:0:1]/")
	blocked("https://[::ffff:127.0.0.1]/")
	blocked("https://[::ffff:7f00:1]/")
	blocked("https://localhost/")
	blocked("https://LOCALHOST./")
	blocked("https://app.localhost/")
}

test_private_link_local_and_metadata_addresses_are_blocked if {
	blocked("https://10.0.0.1/")
	blocked("https://172.16.5.4/")
	blocked("https://192.168.1.1/")
	blocked("https://169.254.169.254/latest/meta-data/")
	blocked("https://0xa9fea9fe/")
	blocked("https://[fe80::1]/")
	blocked("https://[fd00:ec2::254]/")
	blocked("https://100.100.100.200/")
	blocked("https://metadata.google.internal/")
	blocked("https://[::ffff:169.254.169.254]/")
}

test_malformed_hosts_are_blocked if {
	blocked("https://%31%32%37.0.0.1/")
	blocked("https://1.2.3.4.5/")
	blocked("https://256.0.0.1/")
	blocked("https://1.2.3.08/")
	blocked("https://foo.0x10/")
	blocked("https://[fe80::1%25eth0]/")
	blocked("https:// example.org/")
	blocked("https:///")
}

# ---------------------------------------------------------------- secrets

test_secrets_to_outbound_tools_are_denied if {
	d := gzip("https://raw.githubusercontent.com/x?k=AKIAABCDEFGHIJKLMNOP")
	d.allow == false
	"arguments carry a secret to an outbound tool" in d.reasons
	s := decide(call("demo", "everything", "trigger-sampling-request", {"prompt": "-----BEGIN RSA PRIVATE KEY-----\nMIIE", "maxTokens": 10}))
	s.allow == false
	k := decide(call("demo", "everything", "trigger-sampling-request", {"prompt": "hi", "Api_Key": "hunter2hunter2"}))
	k.allow == false
}

test_secrets_to_other_tools_are_not_exfiltration if {
	d := decide(call("demo", "everything", "echo", {"message": "AKIAABCDEFGHIJKLMNOP"}))
	d.allow == true
}

test_outbound_tools_without_secrets_pass if {
	d := decide(call("demo", "everything", "trigger-sampling-request", {"prompt": "summarise the report", "maxTokens": 10}))
	d.allow == true
	d.hold.timeout_s == 300
}

test_local_names_are_blocked if {
	blocked("https://kubernetes.default.svc/")
	blocked("https://api.svc/")
	blocked("https://printer.local/")
	blocked("https://metadata/")
	blocked("https://a.b.internal/")
	portcullis.url_allowed("https://localhost.example.org/", {"**"})
}
