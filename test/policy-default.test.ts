import t from 'tap';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { run } from '../gateway/cli/policy.js';
import { locatePolicy, preparePolicy } from '../gateway/policy/bundle/artifact.js';
import type { PolicyInput } from '../gateway/policy/engine/decision.js';

const POLICIES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'policies');

function capture(): { io: Parameters<typeof run>[1]; out: () => string } {
  let text = '';
  return { io: { stdout: (s) => { text += s; }, stderr: (s) => { text += s; }, stdin: () => '' }, out: () => text };
}

const call = (agent: string, server: string, tool: string, args: Record<string, unknown>): PolicyInput => ({
  agent: { id: `spiffe://portcullis.local/agent/${agent}`, name: agent, auth: 'mtls', roles: [] },
  message: { direction: 'request', kind: 'request', method: 'tools/call', server, tool, arguments: args },
  context: { time_ns: 0 },
});

t.test('the default policy passes its own Rego tests through `policy test`', async (t) => {
  const { io, out } = capture();
  const code = await run(['test', POLICIES, '-v'], io);
  t.equal(code, 0, out());
  const summary = /PASS: (\d+)\/(\d+)/.exec(out());
  t.ok(summary, 'prints a summary');
  t.equal(summary?.[1], summary?.[2]);
  t.ok(Number(summary?.[1]) >= 40, 'covers grants, paths, URLs, secrets, holds, rates and responses');
  t.notMatch(out(), /FAIL|ERROR/);
});

t.test('the default policy decides through the real engine', async (t) => {
  const { engine, revision } = await preparePolicy(locatePolicy(POLICIES), { runTests: true, onFailure: () => {} });
  const read = engine.decide(call('demo', 'filesystem', 'read_text_file', { path: '/tmp/portcullis-sandbox/a.txt' }));
  t.same(read, {
    allow: true, reasons: [], revision,
    rate: { bucket: 'agent:demo:filesystem/read_text_file', capacity: 60, refill_per_s: 1 },
    classification: ['internal'],
  });
  const escape = engine.decide(call('demo', 'filesystem', 'read_text_file', { path: '/tmp/portcullis-sandbox/../../etc/passwd' }));
  t.same(escape.reasons, ["argument 'path' is outside the granted roots"]);
  t.notMatch(JSON.stringify(escape), /passwd/, 'reasons never echo argument values');
  t.equal(engine.decide(call('demo', 'everything', 'gzip-file-as-resource', { data: 'https://[::ffff:169.254.169.254]/' })).allow, false);
  t.same(engine.decide(call('demo', 'filesystem', 'write_file', { path: '/tmp/portcullis-sandbox/o', content: '' })).hold,
    { approvers: ['approver'], timeout_s: 300 });
  t.equal(engine.decide(call('stranger', 'everything', 'echo', { message: 'hi' })).allow, false);
  const response = engine.decide({ ...call('demo', 'everything', 'echo', {}), message: { direction: 'response', kind: 'result', method: 'tools/call', server: 'everything', tool: 'echo' } });
  t.same(response.redact, ['secrets']);
});
