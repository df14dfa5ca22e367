// The default policy's `# METADATA` custom.controls link real rules to the reporters' controls.
import t from 'tap';
import { policyEvidence } from '../gateway/evidence/policy.js';
import { FRAMEWORKS, loadFramework } from '../agents/reporters/framework.js';

t.test('every control a policy rule names exists in its framework, and the key ones are linked', async (t) => {
  const evidence = policyEvidence('policies');
  t.equal(evidence.annotations_supported, true);
  const known = new Set(FRAMEWORKS.flatMap((id) => loadFramework(id).controls.map((control) => `${id}:${control.id}`)));
  const named = evidence.annotations.flatMap((link) => link.controls);
  t.ok(named.length >= 6, 'the default policy links its rules to controls');
  t.same(named.filter((control) => !known.has(control)), [], 'controls named by rules but missing from the frameworks');
  const linked = (control: string): string[] => evidence.annotations.filter((link) => link.controls.includes(control)).map((link) => `${link.file}: ${link.rule}`);
  t.same(linked('iso27001:A.5.15').sort(), ['decision.rego: portcullis.decision', 'decision.rego: portcullis.objections', 'decision.rego: portcullis.objections']);
  t.same(linked('iso42001:A.9.2'), ['decision.rego: portcullis.hold']);
  t.same(linked('owasp-mcp:MCP03'), ['decision.rego: portcullis.objections']);
});
