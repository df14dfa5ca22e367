# Who may use what: agents (exact names, else glob patterns), their grants per
# server (tools, resources, prompts; optional roots and hosts), and what data
# says about servers and tools. Exact names are looked up directly so that the
# common case costs no pattern matching.
package portcullis

import rego.v1

# The exact entry for this agent, else every entry whose name pattern matches.
agent_profiles := {profile} if {
	profile := caps.agents[input.agent.name]
} else := {profile |
	some pattern, profile in caps.agents
	glob.match(pattern, null, input.agent.name)
}

known_agent if count(agent_profiles) > 0

# Settings (e.g. rate_class) of the agent's entry when exactly one applies.
agent_settings := profile if {
	count(agent_profiles) == 1
	some profile in agent_profiles
} else := {}

server_meta := caps.servers[input.message.server]

known_server if server_meta

default tool_meta := {}

tool_meta := server_meta.tools[input.message.tool]

# The grants (of any matching agent entry) for this message's server.
server_grants contains grant if {
	some profile in agent_profiles
	grant := profile.grants[input.message.server]
}

# The grants that give this message's tool.
tool_grants contains grant if {
	some grant in server_grants
	matches_any(grant.tools, input.message.tool)
}

resource_granted if {
	some grant in server_grants
	matches_any(grant.resources, input.message.uri)
}

prompt_granted if {
	some grant in server_grants
	matches_any(grant.prompts, input.message.prompt)
}

# Only a string matches (a number or a list must not pass a "*" grant). Exact
# names and "*" are decided without a pattern match; other patterns by
# glob.match without delimiters (`*` matches any characters).
matches_any(patterns, name) := false if {
	not is_string(name)
} else := true if {
	name in patterns
} else := true if {
	"*" in patterns
} else := true if {
	some pattern in patterns
	glob.match(pattern, null, name)
}
