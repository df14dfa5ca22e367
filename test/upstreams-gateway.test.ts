/**
 * Upstreams from the configuration: a stdio child sees only the environment
 * the config allows, a crashed child is restarted with backoff and its health
 * is visible, and a Streamable HTTP upstream gets its secret headers from the
 * gateway's environment.
 */
import t from 'tap';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { Agent, request } from 'undici';
import { childEnvironment, upstreamHeaders, UpstreamConfigError } from '../gateway/upstreams/transports.js';
import { connectClient, policyWithGrants, PROBE, startTestGateway } from './fixtures/gateway-harness.js';
import { startHelloUpstream } from './fixtures/http-upstream.js';

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

t.test('a stdio upstream sees only allowlisted environment variables', async (t) => {
  process.env.PORTCULLIS_TEST_SECRET = 'gateway-secret-value';
  process.env.PORTCULLIS_TEST_SHARED = 'shared-value';
  t.teardown(() => {
    delete process.env.PORTCULLIS_TEST_SECRET;
    delete process.env.PORTCULLIS_TEST_SHARED;
  });
  const decider = await policyWithGrants(t, { demo: ['probe'] });
  const g = await startTestGateway(
    t,
    { upstreams: { probe: { stdio: { command: 'node', args: [PROBE], env_allow: ['PORTCULLIS_TEST_SHARED'], env: { PROBE_MODE: 'test' } } } } },
    decider,
  );
  const client = await connectClient(t, `${g.gateway.url}/mcp/probe`, { ca: g.ca, ...g.issue('demo') });
  const names = JSON.parse(text(await client.callTool({ name: 'env', arguments: {} }))) as string[];
  t.ok(names.includes('PORTCULLIS_TEST_SHARED'), 'allowlisted variable inherited');
  t.ok(names.includes('PROBE_MODE'), 'literal variable set');
  t.notOk(names.includes('PORTCULLIS_TEST_SECRET'), 'gateway secret not inherited');
  t.notOk(names.includes('PATH'), 'not even PATH unless listed');
  t.notOk(names.includes('HOME'), 'nor HOME');
  // The test runner (tap's processinfo) hooks every spawn and adds NODE_OPTIONS and _TAPJS_* to the child.
  const injectedByTap = (name: string): boolean => name.startsWith('_TAPJS_') || name === 'NODE_OPTIONS';
  t.same(names.filter((name) => !injectedByTap(name)).sort(), ['PORTCULLIS_TEST_SHARED', 'PROBE_MODE'], 'nothing else');
});

t.test("an upstream's JSON-RPC error reaches the agent with its code, secrets masked", async (t) => {
  const decider = await policyWithGrants(t, { demo: ['probe'] });
  const g = await startTestGateway(t, { upstreams: { probe: { stdio: { command: 'node', args: [PROBE] } } } }, decider);
  const client = await connectClient(t, `${g.gateway.url}/mcp/probe`, { ca: g.ca, ...g.issue('demo') });
  const err = await client.callTool({ name: 'fail', arguments: {} }).catch((e: unknown) => e);
  t.ok(err instanceof McpError, 'a JSON-RPC error, not a result');
  const e = err as McpError;
  t.equal(e.code, -32010, "the upstream's own code");
  t.match(e.message, /backend refused token /);
  t.notMatch(e.message, /ghp_A1b2/, 'the token in the message is masked');
  t.notMatch(JSON.stringify(e.data), /ghp_A1b2/, 'and in the data');
  t.match(e.data, { attempt: 1 }, 'the rest of the data stays');
});

t.test('the child environment is exactly the allowlist plus literals', async (t) => {
  const env = childEnvironment(
    { command: 'node', args: [], env_allow: ['KEEP', 'ABSENT'], env: { SET: '1' }, ensure_dirs: [] },
    { KEEP: 'k', SECRET: 's', PATH: '/bin', HOME: '/root' },
  );
  t.same(env, { KEEP: 'k', SET: '1' }, 'not even PATH or HOME');
});

t.test('a crashed stdio upstream restarts with backoff; health shows it', async (t) => {
  const decider = await policyWithGrants(t, { demo: ['probe'] });
  const g = await startTestGateway(
    t,
    // Shared: the agent's call crashes the gateway's own connection, whose restarts health reports.
    { upstreams: { probe: { stdio: { command: 'node', args: [PROBE] }, isolation: 'shared', restart: { initial_delay_ms: 50, max_delay_ms: 200 } } } },
    decider,
  );
  const tls = { ca: g.ca, ...g.issue('demo') };
  const client = await connectClient(t, `${g.gateway.url}/mcp/probe`, tls);
  await client.callTool({ name: 'crash', arguments: {} }).catch(() => undefined);
  const probe = g.gateway.upstreams.get('probe');
  let health = probe?.health();
  for (let i = 0; i < 200 && !(health?.state === 'ready' && health.restarts >= 1); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    health = probe?.health();
  }
  t.match(health, { name: 'probe', transport: 'stdio', state: 'ready' }, 'ready again');
  t.ok((health?.restarts ?? 0) >= 1, 'restart counted');
  t.equal(text(await client.callTool({ name: 'cancelled', arguments: {} })), '0', 'calls work on the restarted server');

  const dispatcher = new Agent({ connect: tls });
  t.teardown(() => dispatcher.close());
  const ready = await request(`${g.gateway.url}/readyz`, { dispatcher });
  const report = (await ready.body.json()) as { ready: boolean; upstreams: Array<{ name: string; state: string }> };
  t.equal(ready.statusCode, 200);
  t.match(report, { ready: true, upstreams: [{ name: 'probe', state: 'ready' }] }, '/readyz reports upstream health');
});

t.test('HTTP upstream headers take secrets from the environment', async (t) => {
  const config = { url: 'https://upstream.example/mcp', headers: { 'x-static': 'v', authorization: { env: 'UPSTREAM_TOKEN', prefix: 'Bearer ' } } };
  t.same(upstreamHeaders('remote', config, { UPSTREAM_TOKEN: 't0ken' }), { 'x-static': 'v', authorization: 'Bearer t0ken' });
  t.throws(() => upstreamHeaders('remote', config, {}), UpstreamConfigError);
  t.throws(() => upstreamHeaders('remote', config, {}), /upstream "remote": header authorization needs environment variable UPSTREAM_TOKEN/);
});

t.test('a Streamable HTTP upstream is proxied with its secret header', async (t) => {
  // A real MCP server over Streamable HTTP, reporting the Authorization it received.
  const seen: Array<string | undefined> = [];
  const upstreamUrl = await startHelloUpstream(t, (headers) => seen.push(headers.authorization));

  process.env.PORTCULLIS_TEST_REMOTE_TOKEN = 'remote-secret';
  t.teardown(() => delete process.env.PORTCULLIS_TEST_REMOTE_TOKEN);
  const decider = await policyWithGrants(t, { demo: ['remote'] });
  const g = await startTestGateway(
    t,
    { upstreams: { remote: { http: { url: upstreamUrl, headers: { authorization: { env: 'PORTCULLIS_TEST_REMOTE_TOKEN', prefix: 'Bearer ' } } } } } },
    decider,
  );
  const client = await connectClient(t, `${g.gateway.url}/mcp/remote`, { ca: g.ca, ...g.issue('demo') });
  t.equal(text(await client.callTool({ name: 'hello', arguments: {} })), 'hello from remote');
  t.ok(seen.length > 0 && seen.every((value) => value === 'Bearer remote-secret'), 'every upstream request carried the header from the environment');
  t.match(g.gateway.upstreams.get('remote')?.health(), { transport: 'http', state: 'ready' });
});
