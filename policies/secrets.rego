# Secret detection over the JSON text of tool-call arguments: provider token
# formats (case-sensitive) and secret-looking keys with a value (matched on the
# lower-cased text). Used to stop exfiltration through outbound tools. Each
# list is matched as one alternation: one pattern match per list.
package portcullis

import rego.v1

arguments_text := json.marshal(arguments)

secret_in_arguments if regex.match(concat("|", caps.secrets.patterns), arguments_text)

secret_in_arguments if regex.match(concat("|", caps.secrets.key_patterns), lower(arguments_text))
