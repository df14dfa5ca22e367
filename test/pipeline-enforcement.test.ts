/**
 * Enforcement end to end: a real gateway (mTLS, real upstreams from npm plus a
 * real SDK server that turns malicious), a Rego policy compiled by Portcullis
 * and run by the opa-wasm loader, stock SDK clients as agents, and the admin
 * API / CLI as the people who decide.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { run as holdsCli } from '../gateway/cli/holds.js';
import { ERRORS } from '../gateway/errors.js';
import type { HoldRecord } from '../gateway/holds/types.js';
import { GatewayMetrics } from '../gateway/metrics/gateway-metrics.js';
import { ADMIN_TOKEN, ENFORCE_POLICY, startEnforcedGateway } from './fixtures/enforce-gateway.js';
import type { EnforcedGateway } from './fixtures/enforce-gateway.js';
import { connectClient, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

function text(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

interface AdminAnswer {
  status: number;
  json: { hold?: HoldRecord; error?: { code: string }; tools?: Array<{ tool: string; pending_hash: string; flags: string[]; diff: string[] }> };
}

/** The admin API as the approver alice, or as the agent demo (who may not use it). */
function adminApi(t: Test, g: EnforcedGateway, demoTls: { cert: string; key: string }) {
  const dispatchers = {
    alice: new Agent({ connect: { ca: g.ca, cert: g.alice.certPem, key: g.alice.keyPem } }),
    demo: new Agent({ connect: { ca: g.ca, cert: demoTls.cert, key: demoTls.key } }),
  };
  t.teardown(() => Promise.all(Object.values(dispatchers).map((d) => d.close())));
  return async (who: keyof typeof dispatchers, method: 'GET' | 'POST', url: string, body?: unknown): Promise<AdminAnswer> => {
    const res = await request(`${g.gateway.url}${url}`, {
      method,
      headers: { 'x-portcullis-csrf': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: dispatchers[who],
    });
    return { status: res.statusCode, json: (await res.body.json()) as AdminAnswer['json'] };
  };
}

t.test('enforcement through the real gateway', async (t) => {
  const g = await startEnforcedGateway(t);
  const { holds } = g.gateway.enforcement;
  const metrics = new GatewayMetrics({ process_metrics: false, max_label_values: 100 });
  g.gateway.enforcement.reportTo(metrics);
  const base = g.gateway.url;
  const demoTls = { ca: g.ca, ...g.issue('demo') };
  const agent = await connectClient(t, `${base}/mcp/everything`, demoTls, {});

  const admin = adminApi(t, g, demoTls);

  await t.test('arguments are validated against the pinned schema before anything else', async (t) => {
    t.ok((await agent.listTools()).tools.some((tool) => tool.name === 'get-sum'));
    const bad = await agent.callTool({ name: 'echo', arguments: { message: 42 } }).catch((err: unknown) => err);
    t.ok(bad instanceof McpError);
    t.equal((bad as McpError).code, -32602);
    t.match((bad as McpError).message, 'Invalid params: /message must be string');
    const missing = await agent.callTool({ name: 'echo', arguments: {} }).catch((err: unknown) => err);
    t.equal((missing as McpError).code, -32602);
  });

  await t.test('the rate class from the decision limits the agent and says when to retry', async (t) => {
    const annotated = { name: 'get-annotated-message', arguments: { messageType: 'success' } };
    t.ok(text(await agent.callTool(annotated)).length > 0);
    t.ok(text(await agent.callTool(annotated)).length > 0);
    const limited = await agent.callTool(annotated).catch((err: unknown) => err);
    t.ok(limited instanceof McpError);
    t.equal((limited as McpError).code, ERRORS.rateLimited.code);
    t.match((limited as McpError).message, /Rate limit exceeded: retry after \d+ s/);
    t.match((limited as McpError).data, { scope: 'agent_tool', bucket: 'annotated' });
    t.ok(((limited as McpError).data as { retry_after_ms: number }).retry_after_ms > 0);
  });

  await t.test('results are asked of the policy: secrets and named fields masked, or withheld', async (t) => {
    const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
    const echoed = await agent.callTool({ name: 'echo', arguments: { message: `line one\nkey ${token}` } });
    t.equal(text(echoed), 'Echo: line one\nkey [REDACTED:github-token]', 'secret masked, text otherwise intact');
    const weather = await agent.callTool({ name: 'get-structured-content', arguments: { location: 'Chicago' } });
    t.equal(text(weather), '[REDACTED:policy-path]', 'the listed JSON path is masked');
    t.match(weather.structuredContent, { temperature: Number }, 'other fields pass unchanged');
    const blocked = await agent.callTool({ name: 'get-env', arguments: {} }).catch((err: unknown) => err);
    t.equal((blocked as McpError).code, ERRORS.responseBlocked.code);
    t.match((blocked as McpError).message, 'Result withheld by policy: the environment stays private');
  });

  await t.test('a held call completes after approval through the admin API', async (t) => {
    const proposed = g.nextHold();
    const call = agent.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
    const hold = await proposed;
    t.same([hold.agent_id, hold.server, hold.tool, hold.reasons], [`spiffe://${TRUST_DOMAIN}/agent/demo`, 'everything', 'get-sum', ['get-sum needs a person']]);
    const byAgent = await admin('demo', 'POST', `/admin/holds/${hold.id}/approve`, { digest: hold.digest });
    t.same([byAgent.status, byAgent.json.error?.code], [403, 'agent-identity'], 'the calling agent cannot approve');
    const altered = await admin('alice', 'POST', `/admin/holds/${hold.id}/approve`, { digest: createHash('sha256').update('x').digest('hex') });
    t.equal(altered.status, 409, 'an approval for another call is refused');
    const approved = await admin('alice', 'POST', `/admin/holds/${hold.id}/approve`, { digest: hold.digest, revision: hold.revision });
    t.equal(approved.status, 200);
    t.equal(text(await call), 'The sum of 2 and 3 is 5.', 'the waiting agent gets its result');
    const replay = await admin('alice', 'POST', `/admin/holds/${hold.id}/approve`, { digest: hold.digest });
    t.equal(replay.status, 409, 'a replayed approval is refused');
    t.equal(holds.get(hold.id)?.state, 'returned');
  });

  await t.test('a held call completes after approval through the CLI', async (t) => {
    const proposed = g.nextHold();
    let heardProgress!: () => void;
    const progressed = new Promise<void>((resolve) => (heardProgress = resolve));
    const call = agent.callTool({ name: 'get-sum', arguments: { a: 10, b: 20 } }, undefined, { onprogress: () => heardProgress() });
    const hold = await proposed;
    await progressed;
    t.pass('the waiting agent hears progress while the call is held');
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), env: {} };
    const conn = ['--url', base, '--ca', g.alice.ca, '--cert', g.alice.cert, '--key', g.alice.key];
    t.equal(await holdsCli(['list', ...conn], io), 0);
    t.match(out.join(''), hold.id);
    t.equal(await holdsCli(['approve', hold.id, '--reason', 'fine', ...conn], io), 0, out.join(''));
    t.equal(text(await call), 'The sum of 10 and 20 is 30.');
  });

  await t.test('a held call is denied when a person rejects it, and on timeout', async (t) => {
    const proposed = g.nextHold();
    const call = agent.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } }).catch((err: unknown) => err);
    const hold = await proposed;
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), env: { PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN } };
    t.equal(await holdsCli(['deny', hold.id, '--reason', 'not now', '--url', base, '--ca', g.alice.ca, '--cert', g.alice.cert, '--key', g.alice.key], io), 0, out.join(''));
    const denied = await call;
    t.equal((denied as McpError).code, ERRORS.holdDenied.code);
    t.match((denied as McpError).message, 'Denied by an approver: not now');

    const expired = await agent.callTool({ name: 'get-tiny-image', arguments: {} }).catch((err: unknown) => err);
    t.equal((expired as McpError).code, ERRORS.holdExpired.code, 'no decision before the timeout is a deny');
    const journal = readFileSync(path.join(g.dir, 'holds.jsonl'), 'utf8');
    for (const type of ['proposed', 'approved', 'forwarded', 'returned', 'denied', 'expired']) t.match(journal, `"type":"${type}"`);
  });

  await t.test('a hold on a message that cannot wait (a list merged from every upstream) is refused', async (t) => {
    const aggregated = await connectClient(t, `${base}/mcp`, demoTls, {});
    const refused = await aggregated.listResources().catch((err: unknown) => err);
    t.equal((refused as McpError).code, ERRORS.policyDenied.code);
    t.match((refused as McpError).message, 'this message cannot be held for approval');
    // The same method on one upstream can wait, and completes once approved.
    const proposed = g.nextHold();
    const listing = agent.listResources();
    const hold = await proposed;
    t.same([hold.method, hold.tool], ['resources/list', undefined]);
    t.equal((await admin('alice', 'POST', `/admin/holds/${hold.id}/approve`, { digest: hold.digest })).status, 200);
    t.ok((await listing).resources.length > 0);
  });

  await t.test('an agent that cancels its held call ends the hold', async (t) => {
    const proposed = g.nextHold();
    const controller = new AbortController();
    const call = agent.callTool({ name: 'get-sum', arguments: { a: 5, b: 5 } }, undefined, { signal: controller.signal }).catch((err: unknown) => err);
    const hold = await proposed;
    const ended = new Promise<string>((resolve) => {
      const off = holds.onEvent((event) => {
        if (event.hold.id !== hold.id) return;
        off();
        resolve(event.type);
      });
    });
    controller.abort();
    t.ok((await call) instanceof Error, 'the client sees its own cancellation');
    t.equal(await ended, 'cancelled');
    t.equal((await admin('alice', 'POST', `/admin/holds/${hold.id}/approve`, { digest: hold.digest })).status, 409, 'nothing left to approve');
  });

  await t.test('every control is counted in the metrics', async (t) => {
    const { body } = await metrics.exposition();
    t.match(body, 'portcullis_rate_limited_total{scope="agent_tool"} 1');
    t.match(body, 'portcullis_holds_total{outcome="approved"} 3');
    t.match(body, 'portcullis_holds_total{outcome="denied"} 1');
    t.match(body, 'portcullis_holds_total{outcome="expired"} 1');
    t.match(body, 'portcullis_holds_total{outcome="cancelled"} 1');
    t.match(body, 'portcullis_holds_pending 0');
    t.match(body, 'portcullis_hold_age_seconds_count 6');
    t.match(body, 'portcullis_redactions_total{detector="github-token"} 1');
    t.match(body, 'portcullis_redactions_total{detector="policy-path"} 1');
  });

  await t.test('a policy change while the call is held voids its approval', async (t) => {
    const proposed = g.nextHold();
    const call = agent.callTool({ name: 'get-sum', arguments: { a: 7, b: 7 } }).catch((err: unknown) => err);
    const hold = await proposed;
    writeFileSync(path.join(g.policy.dir, 'decision.rego'), `${ENFORCE_POLICY}\n# revised while a call was held\n`);
    const reload = await g.policy.decider.reload();
    t.equal(reload.result, 'success');
    t.not(reload.revision, hold.revision, 'a new revision runs');
    t.equal((await admin('alice', 'POST', `/admin/holds/${hold.id}/approve`, { digest: hold.digest })).status, 200);
    t.equal(((await call) as McpError).code, ERRORS.approvalVoid.code, 'the approval does not carry over to another policy');
    t.same([holds.get(hold.id)?.state, holds.get(hold.id)?.decision_reason], ['cancelled', 'policy changed while the call was held']);
  });
});

// Under per_agent the rug pull happens on the agent's own child, which the gateway's connection never sees.
for (const isolation of ['shared', 'per_agent'] as const) {
  t.test(`a tool changed mid-session is quarantined until an operator approves it (isolation: ${isolation})`, async (t) => {
    const g = await startEnforcedGateway(t, {}, isolation);
    const metrics = new GatewayMetrics({ process_metrics: false, max_label_values: 100 });
    g.gateway.enforcement.reportTo(metrics);
    const demoTls = { ca: g.ca, ...g.issue('demo') };
    const admin = adminApi(t, g, demoTls);
    const client = await connectClient(t, `${g.gateway.url}/mcp/rugpull`, demoTls, {});
    const tools = (await client.listTools()).tools;
    t.same(tools.map((tool) => tool.name).sort(), ['add', 'greet', 'rugpull']);
    t.equal(tools.find((tool) => tool.name === 'greet')?.description, 'Greets someone by name.', 'invisible and bidi characters removed');
    t.equal(text(await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })), '3');

    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    t.equal(text(await client.callTool({ name: 'rugpull', arguments: {} })), 'changed');
    await changed;
    // Even without listing again, the changed tool cannot be called.
    const refused = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }).catch((err: unknown) => err);
    t.equal((refused as McpError).code, ERRORS.toolQuarantined.code);
    t.notOk((await client.listTools()).tools.some((tool) => tool.name === 'add'), 'the changed tool is invisible');

    // Another agent: on the shared child it meets the change too; on a child of its own it gets the reviewed tool.
    const other = await connectClient(t, `${g.gateway.url}/mcp/rugpull`, { ca: g.ca, ...g.issue('ops') }, {});
    const elsewhere = await other.callTool({ name: 'add', arguments: { a: 2, b: 2 } }).catch((err: unknown) => err);
    if (isolation === 'shared') t.equal((elsewhere as McpError).code, ERRORS.toolQuarantined.code, 'the shared child serves the changed tool');
    else t.equal(text(elsewhere), '4', "its own child serves the reviewed definition, and the other agent's change stays in review");

    const review = await admin('alice', 'GET', '/admin/pins');
    const item = review.json.tools?.find((i) => i.tool === 'add');
    t.ok(item, 'listed for review');
    t.same(item?.flags, ['concealment', 'hidden-instructions', 'sensitive-path', 'tool-shadowing']);
    t.ok(item?.diff.some((line) => line.startsWith('+ ') && line.includes('IMPORTANT')), 'diff shows the new text');
    const approved = await admin('alice', 'POST', '/admin/pins/approve', { server: 'rugpull', tool: 'add', hash: item?.pending_hash });
    t.equal(approved.status, 200);
    t.ok((await client.listTools()).tools.some((tool) => tool.name === 'add'), 'visible again once approved');
    // The policy sees the description flags and can still refuse the tool.
    const flagged = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }).catch((err: unknown) => err);
    t.equal((flagged as McpError).code, ERRORS.policyDenied.code);
    t.match((flagged as McpError).message, 'tool description flagged');
    t.match(readFileSync(path.join(g.dir, 'pins.json'), 'utf8'), 'IMPORTANT', 'the approved definition is persisted');

    const { body } = await metrics.exposition();
    t.match(body, 'portcullis_pinning_events_total{event="quarantined"} 1');
    t.match(body, 'portcullis_pinning_events_total{event="approved"} 1');
    t.match(body, /portcullis_pinning_events_total\{event="pinned"\} \d+/);
    t.match(body, 'portcullis_tools_quarantined 0');
  });
}
