/**
 * The spine end to end: a stock MCP SDK client with a client certificate from
 * the gateway's PKI lists and calls tools of real upstreams (server-everything,
 * server-filesystem) through /mcp/<server> and /mcp, decided by the real
 * compiled default policy; refused without a valid certificate.
 */
import t from 'tap';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ERRORS } from '../gateway/errors.js';
import { createCa, createClientCert } from '../gateway/pki/certs.js';
import { revoke } from '../gateway/pki/store.js';
import { connectClient, startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

const POLICY_DENIED = ERRORS.policyDenied.code;

function text(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

t.test('mTLS agents through the gateway, default policy', async (t) => {
  const g = await startTestGateway(t);
  const demo = { ca: g.ca, ...g.issue('demo') };
  const url = g.gateway.url;

  await t.test('per-server endpoint lists and calls tools', async (t) => {
    const client = await connectClient(t, `${url}/mcp/everything`, demo);
    t.match(client.getServerVersion(), { name: 'mcp-servers/everything' }, 'initialize mirrors the upstream');
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    t.ok(names.includes('echo'), 'granted tool listed');
    t.notOk(names.includes('get-env'), 'tool the policy disables is not listed');
    t.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'through the gate' } })), 'Echo: through the gate');
  });

  await t.test('aggregated endpoint merges and routes names', async (t) => {
    const client = await connectClient(t, `${url}/mcp`, demo);
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    t.ok(tools.includes('everything__get-sum'), 'everything tools prefixed');
    t.ok(tools.includes('filesystem__list_allowed_directories'), 'filesystem tools prefixed');
    t.notOk(tools.includes('everything__get-env'), 'disabled tool filtered from the merged list');
    t.equal(text(await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } })), 'The sum of 2 and 3 is 5.');
    t.match(text(await client.callTool({ name: 'filesystem__list_allowed_directories', arguments: {} })), /sandbox/);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    t.ok(prompts.includes('everything__simple-prompt'), 'prompts prefixed');
    const prompt = await client.getPrompt({ name: 'everything__simple-prompt' });
    t.ok(prompt.messages.length > 0, 'prompt routed back to its server');
    const resources = (await client.listResources()).resources;
    const first = resources[0];
    t.ok(first !== undefined && first.name.startsWith('everything__'), 'resources prefixed');
    if (first !== undefined) {
      const read = await client.readResource({ uri: first.uri });
      t.ok(read.contents.length > 0, 'resource read routed by URI');
    }
    const unknown = await client.callTool({ name: 'nosuchserver__x', arguments: {} }).catch((err: unknown) => err);
    t.equal((unknown as McpError).code, ERRORS.unknownName.code, 'unknown aggregated name is a clear error');
  });

  await t.test('an agent sees and calls only what it is granted', async (t) => {
    const reporter = await connectClient(t, `${url}/mcp/everything`, { ca: g.ca, ...g.issue('reporter-1') });
    const names = (await reporter.listTools()).tools.map((tool) => tool.name).sort();
    t.same(names, ['echo', 'get-sum', 'get-tiny-image'], 'list filtered to the grant');
    const denied = await reporter.callTool({ name: 'get-annotated-message', arguments: { messageType: 'success' } }).catch((err: unknown) => err);
    t.ok(denied instanceof McpError, 'refused with a JSON-RPC error');
    t.equal((denied as McpError).code, POLICY_DENIED, 'stable policy-denied code');
    t.match((denied as McpError).message, /Denied by policy: tool not granted to this agent/, 'safe reason');
  });

  await t.test('an identity the policy does not know gets nothing', async (t) => {
    const stranger = connectClient(t, `${url}/mcp/everything`, { ca: g.ca, ...g.issue('stranger') });
    await t.rejects(stranger, { code: POLICY_DENIED }, 'even initialize is denied');
  });

  await t.test('refused without a certificate', async (t) => {
    await t.rejects(connectClient(t, `${url}/mcp/everything`, { ca: g.ca }));
  });

  await t.test('refused with a certificate from another CA', async (t) => {
    const otherCa = createCa(TRUST_DOMAIN);
    const rogue = createClientCert(otherCa, TRUST_DOMAIN, 'demo');
    await t.rejects(connectClient(t, `${url}/mcp/everything`, { ca: g.ca, cert: rogue.certPem, key: rogue.keyPem }));
  });

  await t.test('refused with an expired certificate', async (t) => {
    const ca = { certPem: g.ca, keyPem: (await import('node:fs')).readFileSync(g.pki.caKey, 'utf8') };
    const past = new Date(Date.now() - 10 * 86_400_000);
    const expired = createClientCert(ca, TRUST_DOMAIN, 'demo', { notBefore: past, notAfter: new Date(past.getTime() + 86_400_000) });
    await t.rejects(connectClient(t, `${url}/mcp/everything`, { ca: g.ca, cert: expired.certPem, key: expired.keyPem }));
  });

  await t.test('refused after revocation, without a restart', async (t) => {
    const tls = { ca: g.ca, ...g.issue('reporter-2') };
    const before = await connectClient(t, `${url}/mcp/everything`, tls);
    t.ok((await before.listTools()).tools.length > 0, 'works before revocation');
    revoke(g.pki, 'reporter-2');
    await t.rejects(connectClient(t, `${url}/mcp/everything`, tls), 'new connection refused');
    const fresh = await connectClient(t, `${url}/mcp/everything`, demo);
    t.ok((await fresh.listTools()).tools.length > 0, 'other agents keep working');
  });
});
