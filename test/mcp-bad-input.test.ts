/**
 * Every bad input gets a clear answer and the gateway keeps serving:
 * malformed JSON, invalid JSON-RPC, batches, oversized bodies, unknown
 * servers, foreign Host/Origin, wrong sessions, upstreams that are down or
 * slow, clients that disconnect mid-call or stall.
 */
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { Agent, request } from 'undici';
import { ERRORS } from '../gateway/errors.js';
import { connectClient, EVERYTHING, policyWithGrants, PROBE, rawMcp, startTestGateway } from './fixtures/gateway-harness.js';

const JSON_AND_SSE = 'application/json, text/event-stream';

t.test('bad input', async (t) => {
  const decider = await policyWithGrants(t, { demo: ['probe', 'broken'] });
  const g = await startTestGateway(
    t,
    {
      listen: { body_limit_bytes: 4096, request_timeout_ms: 1500 },
      upstreams: {
        everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } },
        probe: { stdio: { command: 'node', args: [PROBE] }, timeout_ms: 2000 },
        broken: { stdio: { command: 'node', args: ['-e', 'process.exit(3)'] }, restart: { initial_delay_ms: 60000, max_delay_ms: 60000 } },
      },
    },
    decider,
  );
  const url = g.gateway.url;
  const demoTls = { ca: g.ca, ...g.issue('demo') };
  const dispatcher = new Agent({ connect: { ca: g.ca, cert: demoTls.cert, key: demoTls.key } });
  t.teardown(() => dispatcher.close());

  const { post, initialize: initializeRaw } = rawMcp(url, dispatcher);
  const initialize = async (path: string, protocolVersion: string, agent = dispatcher): Promise<string> => {
    const answer = await initializeRaw(path, protocolVersion, agent);
    t.equal(answer.status, 200, `initialize ${protocolVersion}`);
    return String(answer.headers['mcp-session-id']);
  };

  /** Reads the probe's counters through the gateway; polls (bounded) until one reaches a value. */
  const probeCounters = async (t: Parameters<typeof connectClient>[0]) => {
    const observer = await connectClient(t, `${url}/mcp/probe`, demoTls);
    const count = async (tool: string): Promise<number> => {
      const result = (await observer.callTool({ name: tool, arguments: {} })) as { content: Array<{ text: string }> };
      return Number(result.content[0]?.text);
    };
    const waitFor = async (tool: string, value: number): Promise<boolean> => {
      for (let i = 0; i < 100; i++) {
        if ((await count(tool)) === value) return true;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return false;
    };
    return { count, waitFor };
  };

  await t.test('malformed JSON is a parse error', async (t) => {
    const answer = await post('/mcp/everything', '{"jsonrpc": "2.0", "id": 1, "method": ');
    t.equal(answer.status, 400);
    t.equal(answer.body.error.code, -32700);
  });

  await t.test('invalid JSON-RPC is an invalid request', async (t) => {
    const session = await initialize('/mcp/everything', '2025-06-18');
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
    for (const bad of [{ foo: 1 }, { jsonrpc: '1.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: null, method: 'ping' }, { jsonrpc: '2.0', id: 1, method: 'x', params: [1] }]) {
      const answer = await post('/mcp/everything', JSON.stringify(bad), headers);
      t.equal(answer.status, 400, JSON.stringify(bad));
      t.equal(answer.body.error.code, -32600);
    }
  });

  await t.test('batches: refused from 2025-06-18, decided element by element before', async (t) => {
    const modern = await initialize('/mcp/everything', '2025-06-18');
    const batch = JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { nonsense: true },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'b' } } },
    ]);
    const refused = await post('/mcp/everything', batch, { 'mcp-session-id': modern, 'mcp-protocol-version': '2025-06-18' });
    t.equal(refused.status, 400);
    t.equal(refused.body.error.code, -32600);
    t.match(refused.body.error.message, /batches are not allowed/);

    const legacy = await initialize('/mcp/everything', '2025-03-26');
    const answer = await post('/mcp/everything', batch, { 'mcp-session-id': legacy, 'mcp-protocol-version': '2025-03-26' });
    t.equal(answer.status, 200);
    t.equal(answer.body.length, 3, 'one answer per element');
    const byId = new Map(answer.body.map((a: { id: unknown }) => [a.id, a]));
    t.same((byId.get(1) as { result: unknown }).result, {}, 'ping answered');
    t.equal((byId.get(null) as { error: { code: number } }).error.code, -32600, 'bad element answered with invalid request');
    t.match(byId.get(2), { result: { content: [{ text: 'Echo: b' }] } }, 'tool call answered');
  });

  await t.test('body over the limit is 413', async (t) => {
    const answer = await post('/mcp/everything', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(8192) } }));
    t.equal(answer.status, 413);
    t.equal(answer.body.error.code, ERRORS.bodyTooLarge.code);
  });

  await t.test('unknown server is a JSON-RPC error, not a 500', async (t) => {
    const answer = await post('/mcp/nosuchserver', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
    t.equal(answer.status, 404);
    t.equal(answer.body.error.code, ERRORS.unknownServer.code);
    t.match(answer.body.error.message, /nosuchserver/);
  });

  /** A raw TLS connection with the demo certificate, for requests undici would not send as written. */
  const openSocket = async (): Promise<TLSSocket> => {
    const socket = connect({ host: '127.0.0.1', port: g.gateway.port, ca: g.ca, cert: demoTls.cert, key: demoTls.key, servername: 'localhost' });
    t.teardown(() => socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    return socket;
  };
  const rawExchange = async (head: string, body: string): Promise<string> => {
    const socket = await openSocket();
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.end(`${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    await closed;
    return Buffer.concat(received).toString('utf8');
  };

  await t.test('foreign Host or Origin is 403 (DNS rebinding)', async (t) => {
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const start = 'POST /mcp/everything HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n';
    t.match(await rawExchange(`${start}host: attacker.example:${g.gateway.port}\r\n`, ping), /^HTTP\/1\.1 403 /, 'foreign Host');
    t.match(await rawExchange(`${start}host: localhost:${g.gateway.port}\r\norigin: https://attacker.example\r\n`, ping), /^HTTP\/1\.1 403 /, 'foreign Origin');
    t.match(await rawExchange(`${start}host: localhost:${g.gateway.port}\r\n`, ping), /^HTTP\/1\.1 400 /, 'own Host passes the check (then needs a session)');
  });

  await t.test('transport rules: Accept, sessions', async (t) => {
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    t.equal((await post('/mcp/everything', ping, { accept: 'application/json' })).status, 406, 'Accept must list both types');
    t.equal((await post('/mcp/everything', ping)).status, 400, 'session id required');
    t.equal((await post('/mcp/everything', ping, { 'mcp-session-id': 'not-a-session' })).status, 404, 'unknown session');
    const session = await initialize('/mcp/everything', '2025-06-18');
    const other = new Agent({ connect: { ca: g.ca, ...g.issue('reporter-2') } });
    t.teardown(() => other.close());
    const stolen = await post('/mcp/everything', ping, { 'mcp-session-id': session }, other);
    t.equal(stolen.status, 404, "another agent's session id is not found");
    t.equal((await post('/mcp/everything', ping, { 'mcp-session-id': session })).status, 200, 'owner still served');
  });

  await t.test('upstream down: JSON-RPC error naming it', async (t) => {
    const answer = await post('/mcp/broken', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }));
    t.equal(answer.body.error.code, ERRORS.upstreamUnavailable.code);
    t.match(answer.body.error.message, /unavailable: broken/);
    const client = await connectClient(t, `${url}/mcp`, demoTls);
    const failed = await client.callTool({ name: 'broken__anything', arguments: {} }).catch((err: { code: number; message: string }) => err);
    t.match(failed, { code: ERRORS.upstreamUnavailable.code, message: /broken/ });
  });

  await t.test('upstream timeout: JSON-RPC error naming it', async (t) => {
    const { count, waitFor } = await probeCounters(t);
    const cancelledBefore = await count('cancelled');
    const client = await connectClient(t, `${url}/mcp/probe`, demoTls);
    const slow = await client.callTool({ name: 'wait', arguments: { ms: 30000 } }).catch((err: { code: number; message: string }) => err);
    t.match(slow, { code: ERRORS.upstreamTimeout.code, message: /timed out: probe/ });
    t.ok(await waitFor('cancelled', cancelledBefore + 1), 'the timed-out call was cancelled upstream');
  });

  await t.test('an agent that cancels (notifications/cancelled) cancels the upstream call', async (t) => {
    const { count, waitFor } = await probeCounters(t);
    const cancelledBefore = await count('cancelled');
    const client = await connectClient(t, `${url}/mcp/probe`, demoTls);
    const abort = new AbortController();
    const call = client.callTool({ name: 'wait', arguments: { ms: 1900 } }, undefined, { signal: abort.signal }).catch(() => 'cancelled');
    t.ok(await waitFor('active', 1), 'the call reached the upstream');
    abort.abort();
    t.equal(await call, 'cancelled');
    t.ok(await waitFor('cancelled', cancelledBefore + 1), 'the upstream saw notifications/cancelled');
    t.ok(await waitFor('active', 0), 'nothing left running upstream');
  });

  await t.test('client disconnect cancels the upstream call; others keep being served', async (t) => {
    const { count, waitFor } = await probeCounters(t);
    const cancelledBefore = await count('cancelled');
    const session = await initialize('/mcp/probe', '2025-06-18');
    const abort = new AbortController();
    const call = request(`${url}/mcp/probe`, {
      method: 'POST',
      dispatcher,
      signal: abort.signal,
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'wait', arguments: { ms: 1900 } } }),
    }).catch(() => 'aborted');
    t.ok(await waitFor('active', 1), 'the call reached the upstream');
    const everything = await connectClient(t, `${url}/mcp/everything`, demoTls);
    t.match(await everything.callTool({ name: 'echo', arguments: { message: 'meanwhile' } }), { content: [{ text: 'Echo: meanwhile' }] }, 'another call is served meanwhile');
    abort.abort();
    t.equal(await call, 'aborted');
    t.ok(await waitFor('cancelled', cancelledBefore + 1), 'the upstream saw notifications/cancelled');
  });

  await t.test('a stalled client is cut off; others are unaffected', async (t) => {
    const port = g.gateway.port;
    const socket = await openSocket();
    socket.write(`POST /mcp/everything HTTP/1.1\r\nhost: localhost:${port}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"jsonrpc"`);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const client = await connectClient(t, `${url}/mcp/everything`, demoTls);
    t.ok((await client.listTools()).tools.length > 0, 'others served while one stalls');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    t.match(Buffer.concat(received).toString('utf8'), /^HTTP\/1\.1 408/, 'answered 408 Request Timeout and closed');
  });
});
