/**
 * Shadow evaluation on a real gateway: the live policy is the default one,
 * the candidate (policy.shadow) the same with get-tiny-image disabled. Every
 * call still gets the live answer; the candidate's disagreements are counted
 * in metrics by change and reason, written as audit events, and summarised
 * by `portcullis policy shadow-report` with exact counts by agent, server
 * and tool, the same summary `policy replay` prints for that trail. A
 * candidate that does not load changes nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import type { Test } from 'tap';
import { queryAudit } from '../gateway/audit/query.js';
import { ERRORS } from '../gateway/errors.js';
import type { GatewayMetrics } from '../gateway/metrics/index.js';
import { connectClient, EVERYTHING, ROOT, startTestGateway } from './fixtures/gateway-harness.js';
import { policyCli } from './fixtures/policy-cli.js';
import type { TestGateway } from './fixtures/gateway-harness.js';
import { candidateDenying } from './fixtures/policy-candidate.js';

const UPSTREAMS = { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } };

async function counter(metrics: GatewayMetrics, name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const metric = metrics.registry.getSingleMetric(name);
  return metric === undefined ? [] : ((await metric.get()).values as Array<{ labels: Record<string, string | number>; value: number }>);
}

async function agent(t: Test, env: TestGateway, name: string) {
  const { cert, key } = env.issue(name);
  return connectClient(t, `${env.gateway.url}/mcp/everything`, { ca: env.ca, cert, key });
}

const errorCode = (err: unknown): number | undefined => (err instanceof McpError ? err.code : undefined);

t.test('a shadow candidate is compared on every message and never enforced', async (t) => {
  const candidate = candidateDenying(t, 'get-tiny-image');
  const env = await startTestGateway(
    t,
    { policy: { dir: path.join(ROOT, 'policies'), shadow: { dir: candidate } }, upstreams: UPSTREAMS, audit: { dir: 'audit' } },
    'config',
  );
  const demo = await agent(t, env, 'demo');
  const reporter = await agent(t, env, 'reporter-1');
  const tinyImage = { name: 'get-tiny-image', arguments: {} };
  for (let i = 0; i < 3; i++) t.match(await demo.callTool(tinyImage), { content: [{ type: 'text' }] }, 'the live policy answers demo');
  for (let i = 0; i < 2; i++) t.match(await reporter.callTool(tinyImage), { content: [{ type: 'text' }] }, 'the live policy answers reporter-1');
  for (let i = 0; i < 2; i++) await demo.callTool({ name: 'echo', arguments: { message: `hello ${i}` } });
  t.equal(errorCode(await demo.callTool({ name: 'get-env', arguments: {} }).catch((e: unknown) => e)), ERRORS.policyDenied.code, 'both deny get-env: no disagreement');

  const { metrics } = env.gateway;
  const disagreements = async () => (await counter(metrics, 'portcullis_policy_shadow_decisions_total')).find((s) => s.labels.result === 'disagree')?.value ?? 0;
  for (let i = 0; i < 200 && (await disagreements()) < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  t.equal(await disagreements(), 5, 'five disagreements counted');
  t.same(await counter(metrics, 'portcullis_policy_shadow_disagreements_total'), [
    { labels: { change: 'newly_deny', reason: 'tool_disabled_by_policy' }, value: 5 },
  ], 'by change and the reason of the candidate that refuses');
  const results = await counter(metrics, 'portcullis_policy_shadow_decisions_total');
  t.ok((results.find((s) => s.labels.result === 'agree')?.value ?? 0) >= 4, 'the other messages agreed (echo, get-env, the lists)');
  t.notOk(results.some((s) => s.labels.result === 'error'), 'no comparison failed');

  await env.gateway.audit?.flush();
  const audit = path.join(env.dir, 'audit');
  const report = await policyCli(['shadow-report', '--audit', audit, '--json']);
  t.equal(report.code, 0);
  const summary = JSON.parse(report.out);
  t.same(summary.totals, { newly_deny: 5, newly_allow: 0, hold_added: 0, hold_removed: 0 });
  const zero = { newly_allow: 0, hold_added: 0, hold_removed: 0 };
  t.same(summary.groups, [
    { agent: 'demo', server: 'everything', tool: 'get-tiny-image', counts: { newly_deny: 3, ...zero } },
    { agent: 'reporter-1', server: 'everything', tool: 'get-tiny-image', counts: { newly_deny: 2, ...zero } },
  ]);
  t.equal(summary.examples.length, 3, 'a few examples per change');
  for (const example of summary.examples) {
    t.same(Object.keys(example).sort(), ['agent', 'at', 'call_id', 'candidate', 'change', 'live', 'method', 'server', 'tool'], 'examples carry recorded names only, no arguments');
    t.match(example, { method: 'tools/call', live: { decision: 'allow' }, candidate: { decision: 'deny', reasons: ['tool disabled by policy'] } });
  }
  t.equal(summary.live_revisions.length, 1);
  t.equal(summary.candidate_revisions.length, 1);
  t.not(summary.candidate_revisions[0], summary.live_revisions[0]);

  // Each disagreement is on record as its own event, beside the live decision of the same call.
  const events = [];
  for await (const record of queryAudit(audit, { type: 'event' })) if ((record as { control?: string }).control === 'policy-shadow') events.push(record);
  t.equal(events.length, 5);

  const text = await policyCli(['shadow-report', '--audit', audit]);
  t.equal(text.code, 0);
  t.match(text.out, /would newly deny: 5\nwould newly allow: 0\n/);
  t.match(text.out, /demo {2}everything {2}get-tiny-image {2}3 \/ 0 \/ 0 \/ 0/);

  // Replaying the same trail with the same candidate finds the same disagreements: one summary, two sources.
  const replayed = await policyCli(['replay', candidate, '--audit', audit, '--json']);
  t.equal(replayed.code, 0);
  const replay = JSON.parse(replayed.out);
  t.same(replay.totals, summary.totals);
  t.same(replay.groups, summary.groups);
  t.same(replay.candidate_revisions, summary.candidate_revisions);

  const status = await policyCli(['status', '--file', path.join(env.dir, 'var/policy-status.json')]);
  t.equal(status.code, 0);
  t.match(status.out, new RegExp(`shadow candidate: revision ${summary.candidate_revisions[0].replace(/[+]/g, '\\+')}\\n  from folder ${candidate}`));
});

t.test('a candidate that does not load is compared with nothing and changes nothing', async (t) => {
  const candidate = mkdtempSync(path.join(os.tmpdir(), 'portcullis-broken-candidate-'));
  t.teardown(() => rmSync(candidate, { recursive: true, force: true }));
  writeFileSync(path.join(candidate, 'decision.rego'), 'package portcullis\n\ndecision := {\n');
  const env = await startTestGateway(
    t,
    { policy: { dir: path.join(ROOT, 'policies'), shadow: { dir: candidate } }, upstreams: UPSTREAMS, audit: { dir: 'audit' } },
    'config',
  );
  const demo = await agent(t, env, 'demo');
  t.match(await demo.callTool({ name: 'get-tiny-image', arguments: {} }), { content: [{ type: 'text' }] }, 'the live policy answers');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(await counter(env.gateway.metrics, 'portcullis_policy_shadow_decisions_total'), [], 'nothing compared');
  const status = await policyCli(['status', '--file', path.join(env.dir, 'var/policy-status.json')]);
  t.equal(status.code, 0);
  t.match(status.out, /shadow candidate: no policy running\n {2}rejected revision sha256:[0-9a-f]{64} at \S+ \(from folder \S+\)\n {4}because decision\.rego:\d+:\d+/);
});
