/**
 * An agent that goes away mid-call and does not resume its event stream
 * within the grace period (listen.resume_grace_ms, 1 s here): its upstream
 * call (server-everything's long-running operation, reporting progress on
 * the POST's event stream) is cancelled then, recorded as cancelled, and the
 * gateway keeps serving (test/mcp-resumability.test.ts: an agent that does resume).
 * test/upstreams-lane.test.ts shows the cancellation reaching the server.
 */
import { connect } from 'node:tls';
import t from 'tap';
import { Agent, request } from 'undici';
import { connectClient, startTestGateway } from './fixtures/gateway-harness.js';

const JSON_AND_SSE = 'application/json, text/event-stream';

t.test('a client that disconnects mid-call has its upstream call cancelled', async (t) => {
  const g = await startTestGateway(t, { listen: { resume_grace_ms: 1000 } });
  const demo = g.issue('demo');
  const dispatcher = new Agent({ connect: { ca: g.ca, ...demo } });
  t.teardown(() => dispatcher.close());
  const init = await request(`${g.gateway.url}/mcp/everything`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', accept: JSON_AND_SSE },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  await init.body.text();
  const session = String(init.headers['mcp-session-id']);

  const socket = connect({ host: '127.0.0.1', port: g.gateway.port, ca: g.ca, ...demo, servername: 'localhost' });
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 }, _meta: { progressToken: 'p1' } },
  });
  let received = '';
  const progressed = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.includes('notifications/progress')) resolve();
    }),
  );
  socket.write(
    `POST /mcp/everything HTTP/1.1\r\nhost: localhost:${g.gateway.port}\r\ncontent-type: application/json\r\naccept: ${JSON_AND_SSE}\r\n` +
      `mcp-session-id: ${session}\r\nmcp-protocol-version: 2025-06-18\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  await progressed;
  t.match(received, /^HTTP\/1\.1 200 [\s\S]*text\/event-stream/, 'the call is running upstream, its progress streamed');
  const started = Date.now();
  socket.destroy();

  const cancelled = /portcullis_upstream_calls_total\{server="everything",outcome="cancelled"\} 1\b/;
  let exposition = '';
  for (let i = 0; i < 250 && !cancelled.test(exposition); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    exposition = (await g.gateway.metrics.exposition()).body;
  }
  t.match(exposition, cancelled, 'the call ended as cancelled');
  t.ok(Date.now() - started < 10_000, 'after the grace period, not when the 30 s operation would have finished');
  const client = await connectClient(t, `${g.gateway.url}/mcp/everything`, { ca: g.ca, ...demo });
  t.match(await client.callTool({ name: 'echo', arguments: { message: 'after' } }), { content: [{ text: 'Echo: after' }] }, 'the gateway keeps serving');
});
