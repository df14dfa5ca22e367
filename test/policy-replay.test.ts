/**
 * `portcullis policy replay`: a real gateway running the default policy
 * records a trail (tool calls by two agents, a denied call, a call whose
 * arguments carry a secret and are redacted on record); replaying it with
 * the live policy changes nothing, and with a candidate that disables one
 * tool gives exact counts by agent, server and tool, the records it could
 * not decide faithfully, time windows and a CI exit code.
 */
import path from 'node:path';
import t from 'tap';
import { queryAudit } from '../gateway/audit/query.js';
import type { DecisionRecord } from '../gateway/audit/events.js';
import { argumentsDigest } from '../gateway/audit/index.js';
import { recordedInput, replayInput } from '../gateway/pipeline/recorded-input.js';
import type { PolicyInput } from '../gateway/policy/engine/decision.js';
import { connectClient, EVERYTHING, ROOT, startTestGateway } from './fixtures/gateway-harness.js';
import { policyCli } from './fixtures/policy-cli.js';
import { candidateDenying } from './fixtures/policy-candidate.js';

async function replayJson(args: string[]): Promise<{ code: number; report: any }> { // parsed JSON report
  const { code, out } = await policyCli(['replay', ...args, '--json']);
  return { code, report: JSON.parse(out) };
}

// Built at run time so no secret-looking literal sits in the source.
const AWS_KEY = ['AKIA', 'ABCDEFGHIJKLMNOP'].join('');

t.test('replay decides recorded traffic again with a candidate', async (t) => {
  const env = await startTestGateway(t, { upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } }, audit: { dir: 'audit' } });
  const connect = (name: string) => {
    const { cert, key } = env.issue(name);
    return connectClient(t, `${env.gateway.url}/mcp/everything`, { ca: env.ca, cert, key });
  };
  const demo = await connect('demo');
  const reporter = await connect('reporter-1');
  for (let i = 0; i < 3; i++) await demo.callTool({ name: 'get-tiny-image', arguments: {} });
  for (let i = 0; i < 2; i++) await reporter.callTool({ name: 'get-tiny-image', arguments: {} });
  await demo.callTool({ name: 'echo', arguments: { message: 'plain' } });
  await demo.callTool({ name: 'echo', arguments: { message: `key ${AWS_KEY}` } });
  await demo.callTool({ name: 'get-env', arguments: {} }).catch(() => undefined);
  await env.gateway.audit?.flush();
  const audit = path.join(env.dir, 'audit');
  let decisions = 0;
  for await (const _record of queryAudit(audit, { type: 'decision' })) decisions++;
  t.ok(decisions >= 8, `${decisions} decisions on record (at least the eight tool calls)`);

  const same = await replayJson([path.join(ROOT, 'policies'), '--audit', audit]);
  t.equal(same.code, 0);
  t.same(same.report.replay, { decided: decisions - 1, redacted: 1, without_input: 0 }, 'all but the redacted call decided again');
  t.same(same.report.totals, { newly_deny: 0, newly_allow: 0, hold_added: 0, hold_removed: 0 }, 'the live policy decides its own traffic the same way');

  const candidate = candidateDenying(t, 'get-tiny-image');
  const changed = await replayJson([candidate, '--audit', audit]);
  t.same(changed.report.replay, { decided: decisions - 1, redacted: 1, without_input: 0 });
  t.same(changed.report.totals, { newly_deny: 5, newly_allow: 0, hold_added: 0, hold_removed: 0 });
  const zero = { newly_allow: 0, hold_added: 0, hold_removed: 0 };
  t.same(changed.report.groups, [
    { agent: 'demo', server: 'everything', tool: 'get-tiny-image', counts: { newly_deny: 3, ...zero } },
    { agent: 'reporter-1', server: 'everything', tool: 'get-tiny-image', counts: { newly_deny: 2, ...zero } },
  ]);
  t.match(changed.report.examples[0], { change: 'newly_deny', agent: 'demo', method: 'tools/call', candidate: { decision: 'deny', reasons: ['tool disabled by policy'] } });
  t.notMatch(JSON.stringify(changed.report), AWS_KEY, 'nothing of the redacted arguments');

  const text = await policyCli(['replay', candidate, '--audit', audit, '--fail-on-change']);
  t.equal(text.code, 1, '--fail-on-change: exit 1 when anything changes');
  t.match(text.out, /\ndecided again: \d+\nnot decided again faithfully: 1 \(1 with redacted fields, 0 without a recorded policy input\)\nwould newly deny: 5\n/);
  t.equal((await policyCli(['replay', path.join(ROOT, 'policies'), '--audit', audit, '--fail-on-change'])).code, 0, 'exit 0 when nothing changes');

  const before = await replayJson([candidate, '--audit', audit, '--until', '2000-01-01T00:00:00Z']);
  t.same(before.report.replay, { decided: 0, redacted: 0, without_input: 0 }, '--until before the trail: nothing');
  const recent = await replayJson([candidate, '--audit', audit, '--since', '1h']);
  t.same(recent.report.totals, changed.report.totals, '--since 1h: everything');

  const usage = await policyCli(['replay', candidate]);
  t.equal(usage.code, 2, 'no --audit: a usage error');
  t.match(usage.err, /missing --audit <dir>/);
});

t.test('a record is decided again only when what it holds is what the policy saw', async (t) => {
  const input: PolicyInput = {
    agent: { id: 'spiffe://portcullis.test/agent/demo', name: 'demo', auth: 'mtls', roles: [] },
    message: { direction: 'request', kind: 'request', method: 'prompts/get', server: 'everything', prompt: 'simple-prompt', arguments: { topic: 'x' } },
    tool: { definition_hash: 'abc', annotations: { readOnlyHint: true }, flags: [] },
    context: { time_ns: 0, session: 's1' },
  };
  const args = { name: 'simple-prompt', arguments: { topic: 'x' } };
  const base = {
    v: 1, seq: 1, ts: '2025-01-01T00:00:00.000Z', type: 'decision', prev: '0'.repeat(64), hash: 'h',
    call_id: 'c1', agent: { id: input.agent.id }, session: 's1', server: 'everything', method: 'prompts/get',
    decision: 'allow', reasons: [], revision: 'r', latency_ms: { decision: 0 },
    args_digest: argumentsDigest(args), arguments: args,
  } as unknown as DecisionRecord;
  const recorded = { ...base, ...recordedInput(input) } as DecisionRecord;
  t.same(replayInput(recorded), { input: { ...input, context: { time_ns: Date.parse(base.ts) * 1_000_000, session: 's1' } } }, 'prompt arguments from inside the recorded params, time from the record');
  t.same(replayInput(base), { skipped: 'without_input' }, 'a record from before inputs were recorded');
  t.same(replayInput({ ...recorded, arguments: { name: 'simple-prompt', arguments: { topic: '[REDACTED:x]' } } } as DecisionRecord), { skipped: 'redacted' }, 'redacted arguments');
  const sanitizedInput = { ...recorded.input, agent: { ...input.agent, id: 'spiffe://portcullis.test/agent/demo\\u001b' } };
  t.same(replayInput({ ...recorded, input: sanitizedInput } as DecisionRecord), { skipped: 'redacted' }, 'an input field changed by sanitizing');
  const secretAnnotations = recordedInput({ ...input, tool: { definition_hash: 'abc', annotations: { api_key: 'hunter2hunter2' }, flags: [] } });
  t.notMatch(JSON.stringify(secretAnnotations.input), /hunter2/, 'annotations are redacted before they are recorded');
});
