# The built-in orchestrator's agents (agents/definitions): each identity gets
# least privilege. Run with `portcullis policy test policies`.
package portcullis_test

import rego.v1

test_reviewer_reads_but_never_writes if {
	decide(call("reviewer", "filesystem", "read_text_file", {"path": "/tmp/portcullis-sandbox/a.txt"})).allow == true
	decide(call("reviewer", "filesystem", "write_file", {"path": "/tmp/portcullis-sandbox/a.txt", "content": "x"})).allow == false
	decide(call("reviewer", "filesystem", "edit_file", {"path": "/tmp/portcullis-sandbox/a.txt", "edits": []})).allow == false
	decide(call("reviewer", "everything", "echo", {"message": "hi"})).allow == false
}

test_coder_writes_under_a_hold if {
	d := decide(call("coder", "filesystem", "write_file", {"path": "/tmp/portcullis-sandbox/a.txt", "content": "x"}))
	d.allow == true
	d.hold.approvers == ["approver"]
	decide(call("coder", "filesystem", "move_file", {"source": "/tmp/portcullis-sandbox/a", "destination": "/tmp/portcullis-sandbox/b"})).allow == false
	decide(call("coder", "everything", "echo", {"message": "hi"})).allow == false
}

test_tester_and_spec_write_no_code_edits if {
	decide(call("tester", "filesystem", "edit_file", {"path": "/tmp/portcullis-sandbox/a.txt", "edits": []})).allow == false
	decide(call("spec", "filesystem", "edit_file", {"path": "/tmp/portcullis-sandbox/a.txt", "edits": []})).allow == false
	decide(call("spec", "filesystem", "write_file", {"path": "/tmp/portcullis-sandbox/s.md", "content": "x"})).allow == true
}

test_researcher_reads_and_echoes_only if {
	decide(call("researcher", "everything", "echo", {"message": "hi"})).allow == true
	decide(call("researcher", "everything", "get-sum", {"a": 1, "b": 2})).allow == false
	decide(call("researcher", "filesystem", "write_file", {"path": "/tmp/portcullis-sandbox/a.txt", "content": "x"})).allow == false
}

# The orchestrator plans and writes the synthesis: it calls no tool, reads no
# resource, gets no prompt, and its tool lists are empty.
test_orchestrator_has_no_tools if {
	decide(call("orchestrator", "filesystem", "read_text_file", {"path": "/tmp/portcullis-sandbox/a.txt"})).allow == false
	decide(call("orchestrator", "filesystem", "write_file", {"path": "/tmp/portcullis-sandbox/a.txt", "content": "x"})).allow == false
	decide(call("orchestrator", "everything", "echo", {"message": "hi"})).allow == false
	decide(listing("orchestrator", "filesystem", "read_text_file")).allow == false
	decide(listing("orchestrator", "everything", "echo")).allow == false
	decide(message("orchestrator", {"direction": "request", "kind": "request", "method": "resources/read", "server": "everything", "uri": "demo://resource/static/document/architecture.md"})).allow == false
	decide(message("orchestrator", {"direction": "request", "kind": "request", "method": "prompts/get", "server": "everything", "prompt": "simple-prompt"})).allow == false
}
