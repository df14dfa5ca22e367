# Unit tests of the default capability policy: grants, methods, holds, rates,
# responses. Run with `portcullis policy test policies`.
package portcullis_test

import data.portcullis
import rego.v1

sandbox := "/tmp/portcullis-sandbox"

agent(name) := {"id": concat("", ["spiffe://portcullis.local/agent/", name]), "name": name, "auth": "mtls", "roles": []}

message(name, m) := {"agent": agent(name), "message": m, "context": {"time_ns": 0}}

request(name, server, method) := message(name, {"direction": "request", "kind": "request", "method": method, "server": server})

call(name, server, tool, args) := message(name, {
	"direction": "request",
	"kind": "request",
	"method": "tools/call",
	"server": server,
	"tool": tool,
	"arguments": args,
})

listing(name, server, tool) := message(name, {
	"direction": "request",
	"kind": "request",
	"method": "tools/list",
	"server": server,
	"tool": tool,
	"listing": true,
})

decide(inp) := d if {
	d := portcullis.decision with input as inp
}

# ---------------------------------------------------------------- agents and servers

test_unknown_agent_is_denied if {
	d := decide(call("mallory", "filesystem", "read_text_file", {"path": "/tmp/portcullis-sandbox/a.txt"}))
	d.allow == false
	"unknown agent" in d.reasons
}

test_unknown_agent_cannot_initialize if {
	d := decide(request("mallory", "filesystem", "initialize"))
	d.allow == false
}

test_known_agent_reads_in_sandbox if {
	d := decide(call("demo", "filesystem", "read_text_file", {"path": "/tmp/portcullis-sandbox/notes/a.txt"}))
	d.allow == true
	d.reasons == []
	d.rate == {"bucket": "agent:demo:filesystem/read_text_file", "capacity": 60, "refill_per_s": 1}
	d.classification == ["internal"]
	d.hold == null
}

test_unknown_server_is_denied if {
	d := decide(call("demo", "shell", "exec", {}))
	d.allow == false
	"unknown server" in d.reasons
}

test_unknown_method_is_denied if {
	d := decide(request("demo", "filesystem", "sampling/createMessage"))
	d.allow == false
	"method not allowed" in d.reasons
}

test_housekeeping_allowed_for_known_agents if {
	decide(request("demo", "filesystem", "initialize")).allow == true
	decide(request("demo", "everything", "ping")).allow == true
	decide(message("demo", {"direction": "request", "kind": "notification", "method": "notifications/initialized", "server": "everything"})).allow == true
}

test_gateway_answered_methods_use_the_aggregate_server if {
	decide(request("demo", "*", "initialize")).allow == true
	decide(message("demo", {"direction": "request", "kind": "notification", "method": "notifications/cancelled", "server": "*"})).allow == true
	decide(request("demo", "*", "tools/call")).allow == false
}

test_unknown_notifications_are_denied if {
	d := decide(message("demo", {"direction": "request", "kind": "notification", "method": "notifications/whatever", "server": "everything"}))
	d.allow == false
	"method not allowed" in d.reasons
}

test_logging_level_on_granted_servers if {
	decide(request("demo", "everything", "logging/setLevel")).allow == true
	decide(request("reporter-1", "nope", "logging/setLevel")).allow == false
}

test_pattern_agent_gets_its_grants if {
	decide(call("reporter-7", "everything", "echo", {"message": "hi"})).allow == true
	d := decide(call("reporter-7", "everything", "trigger-long-running-operation", {}))
	d.allow == false
	"tool not granted to this agent" in d.reasons
}

test_pattern_agent_rate_class if {
	d := decide(call("reporter-7", "everything", "echo", {"message": "hi"}))
	d.rate == {"bucket": "agent:reporter-7:everything/echo", "capacity": 20, "refill_per_s": 0.5}
}

test_tool_rate_class_overrides_agent_class if {
	d := decide(call("demo", "everything", "trigger-long-running-operation", {"duration": 1, "steps": 1}))
	d.allow == true
	d.rate.capacity == 5
}

# ---------------------------------------------------------------- tools

test_disabled_tool_is_denied_even_when_granted if {
	d := decide(call("demo", "everything", "get-env", {}))
	d.allow == false
	"tool disabled by policy" in d.reasons
}

test_high_risk_tool_is_held if {
	d := decide(call("demo", "filesystem", "write_file", {"path": "/tmp/portcullis-sandbox/out.txt", "content": "x"}))
	d.allow == true
	d.hold == {"approvers": ["approver"], "timeout_s": 300}
	d.reasons == ["high-risk tool: each call waits for a person's approval"]
	d.classification == ["internal", "write"]
}

test_flagged_tool_definition_is_denied if {
	inp := object.union(
		call("demo", "everything", "echo", {"message": "hi"}),
		{"tool": {"definition_hash": "00", "annotations": {}, "flags": ["hidden-instructions"]}},
	)
	d := decide(inp)
	d.allow == false
	"tool definition flagged: hidden-instructions" in d.reasons
}

test_arguments_must_be_an_object if {
	d := decide(call("demo", "filesystem", "read_text_file", ["/tmp/portcullis-sandbox/a"]))
	d.allow == false
	"arguments must be an object" in d.reasons
}

# ---------------------------------------------------------------- lists

test_lists_allowed_on_granted_servers if {
	d := decide(request("reporter-1", "everything", "tools/list"))
	d.allow == true
}

test_lists_denied_on_servers_not_granted if {
	d := decide(object.union(request("reporter-1", "everything", "tools/list"), {"message": {"server": "nope"}}))
	d.allow == false
}

test_listing_hides_tools_not_granted if {
	decide(listing("reporter-1", "everything", "echo")).allow == true
	decide(listing("reporter-1", "everything", "get-env")).allow == false
	decide(listing("demo", "everything", "get-env")).allow == false
}

test_listing_ignores_argument_constraints_and_obligations if {
	d := decide(listing("demo", "filesystem", "write_file"))
	d.allow == true
	d.hold == null
	d.rate == null
}

# ---------------------------------------------------------------- resources and prompts

test_resource_grants if {
	ok := message("reporter-1", {"direction": "request", "kind": "request", "method": "resources/read", "server": "everything", "uri": "demo://resource/static/document/architecture.md"})
	decide(ok).allow == false
	decide(object.union(ok, {"agent": agent("demo")})).allow == true
}

test_prompt_grants if {
	p := message("reporter-1", {"direction": "request", "kind": "request", "method": "prompts/get", "server": "everything", "prompt": "simple-prompt"})
	decide(p).allow == true
	d := decide(object.union(p, {"message": {"prompt": "complex-prompt"}}))
	d.allow == false
	"prompt not granted to this agent" in d.reasons
}

# Names the policy checks against grants must be strings: a number, list,
# object or false must not pass a "*" grant or skip the check as "absent".
resource_read(uri) := message("demo", {"direction": "request", "kind": "request", "method": "resources/read", "server": "everything", "uri": uri})

prompt_get(name) := message("demo", {"direction": "request", "kind": "request", "method": "prompts/get", "server": "everything", "prompt": name})

test_resource_uri_must_be_a_string if {
	every uri in [5, ["demo://resource/static/document/architecture.md"], {"u": "x"}, false, null, true] {
		d := decide(resource_read(uri))
		d.allow == false
		"resource uri must be a string" in d.reasons
	}
}

test_resource_methods_need_a_uri if {
	every method in ["resources/read", "resources/subscribe", "resources/unsubscribe"] {
		d := decide(request("demo", "everything", method))
		d.allow == false
		"resource uri must be a string" in d.reasons
	}
}

test_prompt_name_must_be_a_string if {
	every name in [5, ["simple-prompt"], {"n": "simple-prompt"}, false, null] {
		d := decide(prompt_get(name))
		d.allow == false
		"prompt name must be a string" in d.reasons
	}
}

test_prompts_get_needs_a_name if {
	d := decide(request("demo", "everything", "prompts/get"))
	d.allow == false
	"prompt name must be a string" in d.reasons
}

test_tool_name_must_be_a_string if {
	every tool in [5, ["echo"], {"t": "echo"}, false, null] {
		d := decide(call("demo", "everything", tool, {"message": "hi"}))
		d.allow == false
		"tool name must be a string" in d.reasons
		decide(listing("demo", "everything", tool)).allow == false
	}
}

test_tools_call_needs_a_name if {
	d := decide(request("demo", "everything", "tools/call"))
	d.allow == false
	"tool name must be a string" in d.reasons
}

test_string_names_still_pass if {
	decide(resource_read("demo://resource/static/document/architecture.md")).allow == true
	decide(prompt_get("simple-prompt")).allow == true
	decide(call("demo", "everything", "echo", {"message": "hi"})).allow == true
}

# ---------------------------------------------------------------- responses

test_responses_are_allowed_and_redacted if {
	d := decide(message("demo", {"direction": "response", "kind": "result", "method": "tools/call", "server": "filesystem", "tool": "read_text_file", "result": {"content": []}}))
	d.allow == true
	d.redact == ["secrets"]
	d.classification == ["internal"]
}

test_responses_to_unknown_agents_are_denied if {
	d := decide(message("mallory", {"direction": "response", "kind": "result", "method": "tools/call", "server": "filesystem"}))
	d.allow == false
}

# ---------------------------------------------------------------- data

test_roots_in_data_end_with_a_slash if {
	every _, server in data.capabilities.servers {
		every root in object.get(server, "roots", []) {
			endswith(root, "/")
		}
	}
	every _, profile in data.capabilities.agents {
		every _, grant in profile.grants {
			every root in object.get(grant, "roots", []) {
				endswith(root, "/")
			}
		}
	}
}

test_every_rate_class_used_exists if {
	every _, profile in data.capabilities.agents {
		data.capabilities.rate_classes[object.get(profile, "rate_class", "standard")]
	}
	every _, server in data.capabilities.servers {
		every _, tool in object.get(server, "tools", {}) {
			data.capabilities.rate_classes[object.get(tool, "rate_class", "standard")]
		}
	}
}

# ---------------------------------------------------------------- secrets the gateway found

# input.message.secrets: detector names from the gateway's detector library,
# which sees through encodings the patterns in data.json cannot (here: a PEM
# key, base64-encoded, that no pattern matches).
found_secrets(tool, args, found) := message("demo", {
	"direction": "request",
	"kind": "request",
	"method": "tools/call",
	"server": "everything",
	"tool": tool,
	"arguments": args,
	"secrets": found,
})

encoded_key := {"prompt": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t", "maxTokens": 10}

test_secrets_the_gateway_found_stop_outbound_tools if {
	d := decide(found_secrets("trigger-sampling-request", encoded_key, ["pem-private-key"]))
	d.allow == false
	d.reasons == ["arguments carry a secret to an outbound tool"]
	decide(found_secrets("gzip-file-as-resource", {"name": "a", "data": "https://a.example.com/x"}, ["generic-credential", "jwt"])).allow == false
}

test_secrets_the_gateway_found_do_not_stop_other_tools if {
	decide(found_secrets("echo", {"message": "x"}, ["generic-credential"])).allow == true
}

test_outbound_tools_pass_when_the_gateway_found_none if {
	decide(found_secrets("trigger-sampling-request", encoded_key, [])).allow == true
	decide(found_secrets("trigger-sampling-request", encoded_key, [7])).allow == true
	decide(call("demo", "everything", "trigger-sampling-request", encoded_key)).allow == true
}
