# Argument constraints of tool calls: file paths confined to granted roots,
# URLs confined to allowed public hosts. Only argument *names* from data
# appear in reasons, never argument values.
package portcullis

import rego.v1

# A tool's setting, else its server's.
setting(name) := tool_meta[name] if {
	tool_meta[name]
} else := server_meta[name] if {
	server_meta[name]
} else := []

# A grant's own setting (it may narrow roots or hosts), else the tool's or server's.
grant_setting(grant, name) := grant[name] if {
	grant[name]
} else := setting(name)

# Bound, not tested: `false` is not an object and must not read as "no arguments".
arguments := a if {
	a := input.message.arguments
} else := {}

# Names of the arguments holding paths and URLs (rules: computed once per decision).
path_names := setting("path_arguments")

url_names := setting("url_arguments")

constrained_names := {n | some n in path_names} | {n | some n in url_names}

# The type of each constrained argument present (one built-in call each).
argument_types := {name: type_name(arguments[name]) | some name in constrained_names}

# (argument name, value) pairs to check: a string, or each element of a list.
constrained_values(names) := {[name, arguments[name]] |
	some name in names
	argument_types[name] == "string"
} | {[name, v] |
	some name in names
	argument_types[name] == "array"
	some v in arguments[name]
}

argument_objections contains "arguments must be an object" if {
	count(constrained_names) > 0
	not is_plain_object(arguments)
}

# An object equals the object rebuilt from its entries; an array, a string or
# a scalar does not. (is_object without a built-in call.)
is_plain_object(x) if x == {k: v | some k, v in x}

argument_objections contains concat("", ["argument '", name, "' must be a string or a list of strings"]) if {
	some name, type in argument_types
	not type in {"string", "array"}
}

argument_objections contains concat("", ["argument '", name, "' must be a string or a list of strings"]) if {
	some name, type in argument_types
	type == "array"
	some v in arguments[name]
	not is_string(v)
}

# ---------------------------------------------------------------- paths

argument_objections contains concat("", ["argument '", name, "' is outside the granted roots"]) if {
	some [name, path] in constrained_values(path_names)
	not path_within(path, granted_roots)
}

# Roots (written with a trailing "/") from the grants that give this tool.
granted_roots contains root if {
	some grant in tool_grants
	some root in grant_setting(grant, "roots")
}

path_within(path, roots) if {
	prefix := path_prefix(path)
	some root in roots
	inside(prefix, root)
}

# A root is an absolute folder written with a trailing "/", or a glob pattern
# of one such as "/**/var/sandbox/" (`**` spans folders, `*` stays in one).
inside(prefix, root) := true if {
	startswith(prefix, root)
} else := true if {
	contains(root, "*")
	glob.match(concat("", [root, "**"]), ["/"], prefix)
}

# The path with a trailing "/", for a prefix test that compares whole segments.
# A path in normal form (absolute; printable ASCII without backslashes or
# percent signs, so no encoded traversal; no empty segment and none made only
# of dots) costs one pattern match. Any other path is accepted only without
# refused characters (path_characters) and without a segment of dots
# (dot_segment), and with "." and empty segments dropped.
path_prefix(path) := concat("", [path, "/"]) if {
	regex.match(normal_path, path)
} else := concat("", ["/", concat("/", [s | some s in segments; not s in {"", "."}]), "/"]) if {
	regex.match(path_characters, path)
	not regex.match(dot_segment, path)
	segments := split(path, "/")
}

# One or more "/segment" where a segment has a character other than a dot.
normal_path := `^(/\.*[\x20-\x24\x26-\x2d\x30-\x5b\x5d-\x7e][\x20-\x24\x26-\x2e\x30-\x5b\x5d-\x7e]*)+$`

# Absolute, without: control characters (C0 and C1), `%`, backslashes; format
# characters (zero-width, bidi controls, soft hyphen, BOM, tags...), other
# invisible ones (Default_Ignorable_Code_Point: variation selectors, Hangul
# fillers...), line and paragraph separators and every space but U+0020; and
# characters NFKC turns into "/", "\" or "%" (U+FF0F, U+2100 "a/c", U+FF3C,
# U+FE68, U+FF05, U+FE6A), which a server that normalises would read as such.
# Code points are listed explicitly: RE2 and Go agree on them whatever their
# Unicode version.
path_characters := `^/[^\x00-\x1f\x25\x5c\x7f-\x{a0}\x{ad}\x{34f}\x{600}-\x{605}\x{61c}\x{6dd}\x{70f}\x{890}-\x{891}\x{8e2}\x{115f}-\x{1160}\x{1680}\x{17b4}-\x{17b5}\x{180b}-\x{180f}\x{2000}-\x{200f}\x{2028}-\x{202f}\x{205f}-\x{206f}\x{2100}-\x{2101}\x{2105}-\x{2106}\x{3000}\x{3164}\x{fe00}-\x{fe0f}\x{fe68}\x{fe6a}\x{feff}\x{ff05}\x{ff0f}\x{ff3c}\x{ffa0}\x{fff0}-\x{fffb}\x{110bd}\x{110cd}\x{13430}-\x{1343f}\x{1bca0}-\x{1bca3}\x{1d173}-\x{1d17a}\x{e0000}-\x{e0fff}]*$`

# A segment made only of dots other than ".": ".." and also "..." or "...."
# (naive "../" stripping turns "....//" into "../"), counting as dots the
# characters NFKC turns into dots (U+2024-2026 leaders and ellipsis, U+FE19,
# U+FE30, U+FE52, U+FF0E), so a lookalike ".." is traversal.
dot_segment := `(^|/)(\.\.+|\.*[\x{2024}-\x{2026}\x{fe19}\x{fe30}\x{fe52}\x{ff0e}][.\x{2024}-\x{2026}\x{fe19}\x{fe30}\x{fe52}\x{ff0e}]*)(/|$)`

# ---------------------------------------------------------------- URLs

argument_objections contains concat("", ["argument '", name, "' is not an allowed URL"]) if {
	some [name, url] in constrained_values(url_names)
	not url_allowed(url, allowed_hosts)
}

# Host patterns from the grants that give this tool, else the tool's or server's.
allowed_hosts contains host if {
	some grant in tool_grants
	some host in grant_setting(grant, "allowed_hosts")
}

url_allowed(url, hosts) if {
	[scheme, authority] := url_authority(url)
	scheme in caps.network.url_schemes
	host := authority_host(authority)
	public_host(host_kind(host), host)
	some pattern in hosts
	glob.match(pattern, ["."], host)
}

# Scheme and authority, lower-cased, as `^([a-z][a-z0-9+.-]*)://([^/?#]*)`
# would capture them, cut out with string built-ins the runtime has (no
# pattern match per URL). Whitespace, control characters and backslashes
# (which browsers read as "/") make the URL unusable.
url_authority(url) := [scheme, authority] if {
	not regex.match(`[\x00-\x20\x7f\\]`, url)
	u := lower(url)
	parts := split(u, "://")
	count(parts) > 1
	scheme := parts[0]
	scheme != ""
	trim_left(scheme, "abcdefghijklmnopqrstuvwxyz0123456789+.-") == ""
	trim_left(scheme, "0123456789+.-") == scheme
	rest := trim_prefix(u, concat("", [scheme, "://"]))
	authority := split(split(split(rest, "/")[0], "?")[0], "#")[0]
}

# The host of an authority: no userinfo (`user@`), no percent-escapes, an
# optional port; brackets of IPv6 literals and trailing dots removed.
authority_host(authority) := m[1] if {
	startswith(authority, "[")
	some m in regex.find_all_string_submatch_n(`^\[([0-9a-f:.]+)\](?::[0-9]{1,5})?$`, authority, 1)
} else := trim_right(name, ".") if {
	# ^([a-z0-9.-]+)(?::[0-9]{1,5})?$ with string built-ins.
	parts := split(authority, ":")
	count(parts) <= 2
	name := parts[0]
	trim_left(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") == ""
	trim_right(name, ".") != ""
	every port in array_tail(parts) {
		port != ""
		count(port) <= 5
		trim_left(port, "0123456789") == ""
	}
}

# The elements after the first (at most one here: the port).
array_tail(parts) := [p | some i, p in parts; i > 0]

# As in the WHATWG URL parser: a host with a colon is an IPv6 literal, one whose
# last label is a number an IPv4 address (in any notation), anything else a name.
host_kind(host) := "ipv6" if {
	contains(host, ":")
} else := "ipv4" if {
	ipv4_like(host)
} else := "name"

# An IPv6 literal outside every blocked range (IPv4-mapped forms included).
public_host("ipv6", host) if {
	net.cidr_contains("::/0", host)
	every cidr in caps.network.blocked_cidrs {
		not net.cidr_contains(cidr, host)
	}
}

# An IPv4 literal in any notation browsers and inet_aton accept.
public_host("ipv4", host) if {
	address := dotted_quad(ipv4_value(host))
	net.cidr_contains("0.0.0.0/0", address)
	every cidr in caps.network.blocked_cidrs {
		not net.cidr_contains(cidr, address)
	}
}

# A DNS name that is not a local or metadata name.
public_host("name", host) if {
	not host in caps.network.blocked_hostnames
	every pattern in caps.network.blocked_domains {
		not glob.match(pattern, null, host)
	}
}

ipv4_like(host) if {
	labels := split(host, ".")
	number_label(labels[count(labels) - 1])
}

# A label matching ^(0x[0-9a-f]*|[0-9]+)$, tested with string built-ins the
# runtime has (no pattern match: every URL argument comes through here).
number_label(label) if {
	label != ""
	trim_left(label, "0123456789") == ""
}

number_label(label) if {
	startswith(label, "0x")
	trim_left(trim_prefix(label, "0x"), "0123456789abcdef") == ""
}

powers_of_256 := [1, 256, 65536, 16777216, 4294967296]

# 1 to 4 parts; every part but the last is a byte, the last fills the remaining bytes.
ipv4_value(host) := value if {
	labels := split(host, ".")
	n := count(labels)
	n <= 4
	parts := [v | some label in labels; v := ipv4_part(label)]
	count(parts) == n
	every p in array.slice(parts, 0, n - 1) {
		p < 256
	}
	last := parts[n - 1]
	last < powers_of_256[5 - n]
	leading := [v | some i in numbers.range(0, n - 2); n > 1; v := parts[i] * powers_of_256[3 - i]]
	value := sum(leading) + last
}

ipv4_part(label) := radix_value(substring(label, 2, -1), powers_of_16) if {
	regex.match(`^0x[0-9a-f]*$`, label)
} else := radix_value(label, powers_of_8) if {
	regex.match(`^0[0-7]*$`, label)
} else := to_number(label) if {
	regex.match(`^[1-9][0-9]{0,9}$`, label)
}

powers_of_8 := [1, 8, 64, 512, 4096, 32768, 262144, 2097152, 16777216, 134217728, 1073741824]

powers_of_16 := [1, 16, 256, 4096, 65536, 1048576, 16777216, 268435456, 4294967296, 68719476736, 1099511627776]

# Digits (at most 11 significant) in the base given by powers[1].
radix_value(digits, powers) := 0 if {
	trim_left(digits, "0") == ""
} else := value if {
	chars := split(trim_left(digits, "0"), "")
	n := count(chars)
	n <= count(powers)
	value := sum([v | some i, c in chars; v := indexof("0123456789abcdef", c) * powers[n - 1 - i]])
}

dotted_quad(v) := concat(".", [
	format_int(floor(v / 16777216), 10),
	format_int(floor(v / 65536) % 256, 10),
	format_int(floor(v / 256) % 256, 10),
	format_int(v % 256, 10),
])
