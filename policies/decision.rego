# Portcullis default capability policy: the one decision per MCP message.
#
# Deny by default. A message is allowed only when a rule below permits it for
# this agent and no rule objects; objections become the reasons (fixed texts
# and names from data.capabilities, never argument values). Optional fields
# are null when they do not apply. See docs/policy.md.
package portcullis

import rego.v1

caps := data.capabilities

# Message fields are read one by one (input.message.<field>), never the whole
# message: the engine then passes the policy only those fields, and a tool's
# result (input.message.result) is never serialised for a decision that does
# not look at it.

# METADATA
# title: Deny by default
# custom:
#   controls: ["iso27001:A.5.15", "iso27001:A.8.2", "owasp-mcp:MCP07"]
default decision := {"allow": false, "reasons": ["denied by default"]}

decision := {
	"allow": allow,
	"reasons": reasons,
	"hold": hold,
	"rate": rate,
	"redact": redact,
	"classification": classification,
}

default allow := false

allow if {
	permitted
	count(objections) == 0
}

reasons := [r | some r in objections] if {
	count(objections) > 0
} else := ["no rule allows this message"] if {
	not permitted
} else := ["high-risk tool: each call waits for a person's approval"] if {
	# Why an allowed call waits: stored with the hold and shown to the approvers.
	high_risk_call
} else := []

# ---------------------------------------------------------------- what may pass

# Server-scoped requests (lists, tool calls, resources, prompts, completion);
# the objections below narrow them down to what the agent was granted.
permitted if {
	known_agent
	server_scoped
}

# Protocol housekeeping for any known agent.
permitted if {
	known_agent
	housekeeping
}

# Answers and server-initiated messages flowing back to a known agent.
permitted if {
	known_agent
	input.message.direction == "response"
}

request if input.message.direction == "request"

listing if input.message.listing == true

# Notifications are listed one by one: an unknown notification is denied too.
housekeeping_methods := {
	"initialize",
	"ping",
	"notifications/initialized",
	"notifications/cancelled",
	"notifications/progress",
	"notifications/roots/list_changed",
}

housekeeping if {
	request
	input.message.method in housekeeping_methods
}

server_methods := {
	"tools/list",
	"prompts/list",
	"resources/list",
	"resources/templates/list",
	"tools/call",
	"resources/read",
	"resources/subscribe",
	"resources/unsubscribe",
	"prompts/get",
	"completion/complete",
	"logging/setLevel",
}

server_scoped if {
	request
	input.message.method in server_methods
}

# A tool call, or "may this agent see this tool" while filtering tools/list.
tool_scoped if {
	request
	input.message.method == "tools/call"
}

tool_scoped if {
	request
	listing
	input.message.tool
}

tool_call if {
	request
	input.message.method == "tools/call"
	not listing
}

# ---------------------------------------------------------------- objections

objections contains "unknown agent" if not known_agent

objections contains "method not allowed" if {
	request
	not server_scoped
	not housekeeping
}

objections contains "unknown server" if {
	server_scoped
	not known_server
}

# METADATA
# title: Servers only as granted
# custom:
#   controls: ["iso27001:A.5.15", "iso27001:A.5.18", "owasp-mcp:MCP02", "owasp-mcp:MCP09"]
objections contains "server not granted to this agent" if {
	server_scoped
	known_server
	count(server_grants) == 0
}

# METADATA
# title: Tools only as granted
# custom:
#   controls: ["iso27001:A.5.15", "iso27001:A.5.18", "owasp-mcp:MCP02"]
objections contains "tool not granted to this agent" if {
	tool_scoped
	count(tool_grants) == 0
}

objections contains "tool disabled by policy" if {
	tool_scoped
	tool_meta.deny == true
}

objections contains "resource not granted to this agent" if {
	request
	input.message.uri
	not resource_granted
}

objections contains "prompt not granted to this agent" if {
	request
	input.message.prompt
	not prompt_granted
}

# The names checked against grants must be strings, and the methods that name
# something must name it: a number, list, object or `false` would pass a "*"
# grant or skip the grant check as if absent.
objections contains "tool name must be a string" if not_string(input.message.tool)

objections contains "tool name must be a string" if {
	tool_call
	not input.message.tool
}

objections contains "prompt name must be a string" if not_string(input.message.prompt)

objections contains "prompt name must be a string" if {
	request
	input.message.method == "prompts/get"
	not input.message.prompt
}

objections contains "resource uri must be a string" if not_string(input.message.uri)

objections contains "resource uri must be a string" if {
	request
	input.message.method in {"resources/read", "resources/subscribe", "resources/unsubscribe"}
	not input.message.uri
}

# Defined (and true) for a present value that is not a string; undefined when absent.
not_string(value) if not is_string(value)

# Findings of the gateway's tool-definition inspection (detector names).
# METADATA
# title: Flagged tool definitions are refused
# custom:
#   controls: ["owasp-mcp:MCP03", "iso42001:A.10.3"]
objections contains concat("", ["tool definition flagged: ", flag]) if {
	tool_call
	caps.deny_flagged_tools == true
	some flag in input.tool.flags
	regex.match(`^[a-z0-9-]{1,40}$`, flag)
}

objections contains "tool definition flagged" if {
	tool_call
	caps.deny_flagged_tools == true
	some flag in input.tool.flags
	not regex.match(`^[a-z0-9-]{1,40}$`, flag)
}

objections contains reason if {
	tool_call
	some reason in argument_objections
}

# METADATA
# title: No secret leaves through an outbound tool
# custom:
#   controls: ["owasp-mcp:MCP01", "iso27001:A.8.12"]
objections contains "arguments carry a secret to an outbound tool" if {
	tool_call
	tool_meta.outbound == true
	secret_in_arguments
}

# ---------------------------------------------------------------- obligations

# High-risk tools wait for a human: the tool's own hold settings, else the default.
# METADATA
# title: High-risk tool calls wait for a human
# custom:
#   controls: ["iso42001:A.9.2"]
hold := tool_meta.hold if {
	high_risk_call
} else := caps.hold if {
	high_risk_call
} else := null

high_risk_call if {
	allow
	tool_call
	tool_meta.risk == "high"
}

# Which token bucket applies: per agent and tool for tool calls, per agent otherwise.
rate := {"bucket": rate_bucket, "capacity": class.capacity, "refill_per_s": class.refill_per_s} if {
	allow
	request
	not listing
	class := caps.rate_classes[rate_class_name]
} else := null

rate_class_name := tool_meta.rate_class if {
	tool_call
} else := agent_settings.rate_class if {
	agent_settings.rate_class
} else := "standard"

rate_bucket := concat("", ["agent:", input.agent.name, ":", input.message.server, "/", input.message.tool]) if {
	tool_call
} else := concat("", ["agent:", input.agent.name])

# Responses reach the agent with detected secrets masked.
redact := ["secrets"] if {
	allow
	input.message.direction == "response"
} else := null

# Data-classification tags for the audit trail: the server's and the tool's.
classes := {c | some c in server_meta.classification} | {c | some c in tool_meta.classification}

classification := [c | some c in classes] if {
	count(classes) > 0
} else := null
