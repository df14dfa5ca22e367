# Secret detection in tool-call arguments, to stop exfiltration through
# outbound tools. The gateway's detector library does the real work and names
# what it found in input.message.secrets (it decodes percent-encoding, base64
# and hex and drops invisible characters first). The patterns below match the
# JSON text of the arguments as written, so a policy evaluated on an input the
# gateway did not build (`portcullis policy eval`) still catches plain secrets:
# provider token formats (case-sensitive) and secret-looking keys with a value
# (matched on the lower-cased text). Each list is matched as one alternation:
# one pattern match per list.
package portcullis

import rego.v1

arguments_text := json.marshal(arguments)

secret_in_arguments if {
	some kind in input.message.secrets
	is_string(kind)
}

secret_in_arguments if regex.match(concat("|", caps.secrets.patterns), arguments_text)

secret_in_arguments if regex.match(concat("|", caps.secrets.key_patterns), lower(arguments_text))
