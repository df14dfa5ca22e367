/**
 * Protocol traffic beyond request/answer travels both ways through the
 * gateway: server-to-client requests (sampling), progress notifications,
 * the session's event stream and its end, and the stateless mode.
 */
import t from 'tap';
import { Agent, request } from 'undici';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { ERRORS } from '../gateway/errors.js';
import { connectClient, EVERYTHING, policyWithGrants, PROBE, startTestGateway } from './fixtures/gateway-harness.js';

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

t.test('server-to-client requests and progress', async (t) => {
  const decider = await policyWithGrants(t, { demo: ['probe'] });
  const g = await startTestGateway(t, { upstreams: { probe: { stdio: { command: 'node', args: [PROBE] } } } }, decider);
  const tls = { ca: g.ca, ...g.issue('demo') };

  for (const [endpoint, tool] of [['/mcp/probe', 'sample'], ['/mcp', 'probe__sample']] as const) {
    await t.test(`sampling through ${endpoint}`, async (t) => {
      const client = await connectClient(t, `${g.gateway.url}${endpoint}`, tls, { sampling: {} });
      let asked = 0;
      client.setRequestHandler(CreateMessageRequestSchema, async () => {
        asked += 1;
        return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'hello from the agent' } };
      });
      t.equal(text(await client.callTool({ name: tool, arguments: {} })), 'sampled: hello from the agent');
      t.equal(asked, 1, 'the agent answered exactly one sampling request');
    });
  }

  await t.test('an agent without the sampling capability is not asked', async (t) => {
    const client = await connectClient(t, `${g.gateway.url}/mcp/probe`, tls);
    const failed = await client.callTool({ name: 'sample', arguments: {} }).then(
      (result) => result,
      (err: unknown) => err,
    );
    // The upstream's tool fails (its sampling request was refused); the failure reaches the agent.
    t.match(JSON.stringify(failed), new RegExp(`${ERRORS.clientUnreachable.code}|sampling`));
  });

  await t.test('progress notifications reach the agent', async (t) => {
    const client = await connectClient(t, `${g.gateway.url}/mcp/probe`, tls);
    const seen: number[] = [];
    const result = await client.callTool({ name: 'progress', arguments: {} }, undefined, { onprogress: (p) => seen.push(p.progress) });
    t.equal(text(result), 'finished');
    t.same(seen, [1, 2, 3], 'every progress step, in order');
  });
});

t.test('stateless mode serves a stock client without sessions', async (t) => {
  const g = await startTestGateway(t, {
    listen: { sessions: 'stateless' },
    upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } },
  });
  const client = await connectClient(t, `${g.gateway.url}/mcp/everything`, { ca: g.ca, ...g.issue('demo') });
  t.ok((await client.listTools()).tools.some((tool) => tool.name === 'echo'));
  t.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'no session' } })), 'Echo: no session');
});

t.test('session event stream and session end', async (t) => {
  const g = await startTestGateway(t, { upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } } });
  const tls = { ca: g.ca, ...g.issue('demo') };
  const dispatcher = new Agent({ connect: tls });
  t.teardown(() => dispatcher.close());
  const url = `${g.gateway.url}/mcp/everything`;
  const init = await request(url, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  await init.body.dump();
  const session = String(init.headers['mcp-session-id']);
  const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };

  const stream = await request(url, { method: 'GET', dispatcher, headers: { ...headers, accept: 'text/event-stream' } });
  t.equal(stream.statusCode, 200);
  t.match(stream.headers['content-type'], /text\/event-stream/);
  const second = await request(url, { method: 'GET', dispatcher, headers: { ...headers, accept: 'text/event-stream' } });
  t.equal(second.statusCode, 409, 'one event stream per session');
  await second.body.dump();

  const ended = await request(url, { method: 'DELETE', dispatcher, headers });
  t.equal(ended.statusCode, 200, 'session ended');
  await ended.body.dump();
  await stream.body.dump();
  t.pass('the event stream closed with the session');
  const after = await request(url, {
    method: 'POST',
    dispatcher,
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
  });
  t.equal(after.statusCode, 404, 'an ended session is gone');
  await after.body.dump();
});
