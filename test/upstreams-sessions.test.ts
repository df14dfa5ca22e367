/**
 * Per-agent upstream connections (isolation: per_agent, the default): on an
 * HTTP upstream every agent session gets an upstream session of its own,
 * closed with it, bounded and idle-reaped; on a stdio upstream every agent
 * identity gets a child of its own. What an upstream starts (log lines,
 * resource updates, sampling requests) reaches only the session it belongs
 * to, also under many concurrent calls.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, LoggingMessageNotificationSchema, McpError, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { configFromObject } from '../gateway/config/load.js';
import { ERRORS } from '../gateway/errors.js';
import { connectClient, PROBE, startTestGateway } from './fixtures/gateway-harness.js';
import type { TestGateway } from './fixtures/gateway-harness.js';
import { policyGrantingAll, startSessionUpstream } from './fixtures/session-upstream.js';

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

async function until(what: string, condition: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  for (const started = Date.now(); !(await condition()); ) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function agent(t: Test, g: TestGateway, name: string, path: string, capabilities: Record<string, unknown> = {}): Promise<Client> {
  return connectClient(t, `${g.gateway.url}${path}`, { ca: g.ca, ...g.issue(name) }, capabilities);
}

/** A client answering sampling requests with its own name and the prompt it was asked. */
function answersSampling(client: Client, name: string, asked: string[]): void {
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const content = request.params.messages[0]?.content;
    const prompt = content !== undefined && 'text' in content ? String(content.text) : '?';
    asked.push(prompt);
    return { role: 'assistant', model: 'test', content: { type: 'text', text: `${name}:${prompt}` } };
  });
}

async function gauge(g: TestGateway, server: string): Promise<number | undefined> {
  const metric = (await g.gateway.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'portcullis_upstream_agent_connections');
  return metric?.values.find((v) => v.labels.server === server)?.value;
}

t.test("HTTP upstream: A's log level and subscription never reach B", async (t) => {
  const upstream = await startSessionUpstream(t);
  const g = await startTestGateway(t, { upstreams: { remote: { http: { url: upstream.url }, isolation: 'per_agent' } } }, policyGrantingAll(['alice', 'bob'], ['remote']));
  const alice = await agent(t, g, 'alice', '/mcp/remote');
  const bob = await agent(t, g, 'bob', '/mcp/remote');
  const heard = { alice: { logs: [] as string[], updates: 0 }, bob: { logs: [] as string[], updates: 0 } };
  for (const [name, client] of [['alice', alice], ['bob', bob]] as const) {
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard[name].logs.push(String(n.params.data)));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void heard[name].updates++);
  }
  const aliceSession = text(await alice.callTool({ name: 'session', arguments: {} }));
  const bobSession = text(await bob.callTool({ name: 'session', arguments: {} }));
  t.not(aliceSession, bobSession, 'each agent session has an upstream session of its own');

  await alice.setLoggingLevel('info');
  await alice.subscribeResource({ uri: 'test://watched' });
  // Bob's call is the only one waiting while Alice's upstream session keeps talking.
  t.equal(text(await bob.callTool({ name: 'wait', arguments: { ms: 400 } })), 'waited');
  await bob.callTool({ name: 'wait', arguments: { ms: 100 } });
  t.same(heard.bob, { logs: [], updates: 0 }, 'bob heard none of it');
  await until('alice hearing her log and updates', () => heard.alice.logs.length >= 3 && heard.alice.updates >= 3);
  t.ok(heard.alice.logs.every((line) => line === `log of ${aliceSession} at info`), "alice's lines are her upstream session's");
});

t.test('HTTP upstream: sampling during 16 concurrent calls reaches the agent of each call', async (t) => {
  const upstream = await startSessionUpstream(t);
  const g = await startTestGateway(t, { upstreams: { remote: { http: { url: upstream.url }, isolation: 'per_agent' } } }, policyGrantingAll(['alice', 'bob'], ['remote']));
  const sessions = await Promise.all(
    ['alice', 'alice', 'bob', 'bob'].map(async (name, n) => {
      const client = await agent(t, g, name, '/mcp/remote', { sampling: {} });
      const asked: string[] = [];
      answersSampling(client, `${name}${n}`, asked);
      return { client, label: `${name}${n}`, asked };
    }),
  );
  const calls = sessions.flatMap(({ client, label }) =>
    [0, 1, 2, 3].map(async (i) => ({ label, tag: `${label}-call${i}`, answer: text(await client.callTool({ name: 'sample', arguments: { tag: `${label}-call${i}` } })) })),
  );
  const results = await Promise.all(calls);
  t.equal(results.length, 16);
  for (const { label, tag, answer } of results) t.equal(answer, `${label}:${tag}`, `${tag} was sampled by ${label}`);
  for (const { label, asked } of sessions) t.ok(asked.length === 4 && asked.every((p) => p.startsWith(`${label}-`)), `${label} was asked only its own`);
});

t.test('HTTP upstream: an upstream session ends with its agent session, is bounded and counted', async (t) => {
  const upstream = await startSessionUpstream(t);
  const g = await startTestGateway(t, { upstreams: { remote: { http: { url: upstream.url }, isolation: 'per_agent', max_sessions: 2 } } }, policyGrantingAll(['alice', 'bob'], ['remote']));
  const shared = upstream.live();
  const first = await agent(t, g, 'alice', '/mcp/remote');
  const second = await agent(t, g, 'bob', '/mcp/remote');
  await first.callTool({ name: 'session', arguments: {} });
  await second.callTool({ name: 'session', arguments: {} });
  t.equal(upstream.live(), shared + 2, 'one upstream session per agent session');
  t.equal(await gauge(g, 'remote'), 2, 'the gauge counts them');

  const third = await agent(t, g, 'alice', '/mcp/remote');
  const refused = await third.callTool({ name: 'session', arguments: {} }).catch((e: unknown) => e);
  t.ok(refused instanceof McpError && refused.code === ERRORS.upstreamSessionLimit.code, 'a third is refused with the registered kind');

  await (first.transport as StreamableHTTPClientTransport).terminateSession();
  await until('the upstream session to be deleted', () => upstream.deleted() === 1);
  t.equal(upstream.live(), shared + 1, 'the agent session ended, its upstream session too');
  t.equal(text(await third.callTool({ name: 'session', arguments: {} })).length > 0, true, 'the freed place is taken');
});

t.test('HTTP upstream: an idle upstream session is closed', async (t) => {
  const upstream = await startSessionUpstream(t);
  const g = await startTestGateway(t, { upstreams: { remote: { http: { url: upstream.url }, isolation: 'per_agent', idle_timeout_ms: 1000 } } }, policyGrantingAll(['alice'], ['remote']));
  const alice = await agent(t, g, 'alice', '/mcp/remote');
  const before = text(await alice.callTool({ name: 'session', arguments: {} }));
  await until('the idle upstream session to be deleted', () => upstream.deleted() === 1, 5000);
  const after = text(await alice.callTool({ name: 'session', arguments: {} }));
  t.not(after, before, 'the next call opens a new upstream session');
});

t.test('stdio upstream: one child per agent identity, sampling to the agent of each call', async (t) => {
  const g = await startTestGateway(t, { upstreams: { probe: { stdio: { command: 'node', args: [PROBE] }, isolation: 'per_agent' } } }, policyGrantingAll(['alice', 'bob'], ['probe']));
  const alice = await agent(t, g, 'alice', '/mcp/probe', { sampling: {} });
  const bob = await agent(t, g, 'bob', '/mcp/probe', { sampling: {} });
  const asked = { alice: [] as string[], bob: [] as string[] };
  answersSampling(alice, 'alice', asked.alice);
  answersSampling(bob, 'bob', asked.bob);

  const waiting = alice.callTool({ name: 'wait', arguments: { ms: 300 } });
  await until('alice to have a call running', async () => text(await alice.callTool({ name: 'active', arguments: {} })) === '1');
  t.equal(text(await bob.callTool({ name: 'active', arguments: {} })), '0', "bob's child does not run alice's call");
  await waiting;

  const calls = [...Array(8).keys()].flatMap(() => [alice, bob].map(async (client) => text(await client.callTool({ name: 'sample', arguments: {} }))));
  const answers = await Promise.all(calls);
  t.same(answers.filter((a) => a === 'sampled: alice:say something').length, 8, "alice's 8 calls sampled by alice");
  t.same(answers.filter((a) => a === 'sampled: bob:say something').length, 8, "bob's 8 calls sampled by bob");
  t.equal(await gauge(g, 'probe'), 2, 'two children for agents');
});

t.test('HTTP upstream: a tool changed on one agent session is quarantined there, the others keep the reviewed one', async (t) => {
  const upstream = await startSessionUpstream(t);
  // The default isolation: an upstream session per agent session.
  const g = await startTestGateway(t, { upstreams: { remote: { http: { url: upstream.url } } } }, policyGrantingAll(['alice', 'bob'], ['remote']));
  const { pins } = g.gateway.enforcement;
  const session = { name: 'session', arguments: {} };
  const alice = await agent(t, g, 'alice', '/mcp/remote');
  const bob = await agent(t, g, 'bob', '/mcp/remote');
  t.ok((await alice.listTools()).tools.some((tool) => tool.name === 'session'), 'the first listing pins');
  const changed = new Promise<void>((resolve) => alice.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
  t.equal(text(await alice.callTool({ name: 'retool', arguments: {} })), 'changed');
  await changed;
  const refused = await alice.callTool(session).catch((err: unknown) => err);
  t.equal((refused as McpError).code, ERRORS.toolQuarantined.code, "alice's upstream session lists another definition now");
  t.notOk((await alice.listTools()).tools.some((tool) => tool.name === 'session'), 'and hides it from her listing');
  t.ok(text(await bob.callTool(session)).length > 0, "bob's upstream session lists the reviewed definition");
  const [item, ...more] = pins.quarantined();
  t.match(item, { server: 'remote', tool: 'session', change: 'changed' }, 'the change awaits review');
  t.equal(more.length, 0, "bob's listing neither reverts nor replaces it");

  pins.approve('remote', 'session', item?.pending_hash ?? '', 'test');
  t.ok(text(await alice.callTool(session)).length > 0, 'the approved definition is callable where it is listed');
  const stale = await bob.callTool(session).catch((err: unknown) => err);
  t.equal((stale as McpError).code, ERRORS.toolQuarantined.code, "bob's session lists what is no longer the approved definition");
  t.match(pins.quarantined(), [{ tool: 'session', change: 'changed', pinned_hash: item?.pending_hash }], 'which goes up for review in turn');
});

t.test('each bound belongs to one kind of upstream; isolation defaults to per_agent', async (t) => {
  const upstreams = (entry: object): object => ({ tls: { dir: 'certs' }, upstreams: { u: entry } });
  const stdio = { stdio: { command: 'node' } };
  const http = { http: { url: 'http://127.0.0.1:1/mcp' } };
  t.match(configFromObject(upstreams(stdio), '/tmp').upstreams.u, { isolation: 'per_agent', idle_timeout_ms: 600_000 });
  t.match(configFromObject(upstreams(http), '/tmp').upstreams.u, { isolation: 'per_agent' });
  t.match(configFromObject(upstreams({ ...stdio, max_processes: 4 }), '/tmp').upstreams.u, { max_processes: 4 });
  t.match(configFromObject(upstreams({ ...http, max_sessions: 4 }), '/tmp').upstreams.u, { max_sessions: 4 });
  t.throws(() => configFromObject(upstreams({ ...stdio, max_sessions: 4 }), '/tmp'), 'max_sessions on a stdio upstream');
  t.throws(() => configFromObject(upstreams({ ...http, max_processes: 4 }), '/tmp'), 'max_processes on an HTTP upstream');
  t.throws(() => configFromObject(upstreams({ ...http, isolation: 'per_session' }), '/tmp'), 'an unknown isolation');
});
