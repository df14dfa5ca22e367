/**
 * What an attack run found at the edge (issue 11): request methods sent as
 * notifications, non-JSON bodies, deep nesting, duplicate Host headers,
 * session floods, and refusals that left no trace. A real gateway with the
 * audit trail on, a raw upstream that records every line it receives, and
 * raw requests over mTLS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { ERRORS } from '../gateway/errors.js';
import { policyWithGrants, rawMcp, ROOT, startTestGateway } from './fixtures/gateway-harness.js';

const RECORDING_SERVER = path.join(ROOT, 'test/fixtures/recording-server.mjs');
import type { RawAnswer } from './fixtures/gateway-harness.js';

const JSON_AND_SSE = 'application/json, text/event-stream';

interface AuditLine {
  type: string;
  method?: string;
  tool?: string;
  control?: string;
  event?: string;
  details?: Record<string, unknown>;
}

t.test('edge hardening', async (t) => {
  const decider = await policyWithGrants(t, { demo: ['recorder'] });
  const g = await startTestGateway(
    t,
    {
      audit: { dir: 'audit', fsync: 'never' },
      upstreams: {
        recorder: { stdio: { command: 'node', args: [RECORDING_SERVER, 'received.jsonl'] } },
      },
    },
    decider,
  );
  const received = path.join(g.dir, 'received.jsonl');
  const receivedLines = (): Array<{ method?: string; params?: { name?: string } }> =>
    readFileSync(received, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  const auditLines = async (): Promise<AuditLine[]> => {
    await g.gateway.audit?.flush();
    const dir = path.join(g.dir, 'audit');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()
      .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter((line) => line !== ''))
      .map((line) => JSON.parse(line) as AuditLine);
  };
  const url = g.gateway.url;
  const demo = g.issue('demo');
  const dispatcher = new Agent({ connect: { ca: g.ca, cert: demo.cert, key: demo.key } });
  t.teardown(() => dispatcher.close());

  const { post, initialize } = rawMcp(url, dispatcher);
  const openSession = async (where: string, protocolVersion = '2025-06-18'): Promise<Record<string, string>> => {
    const answer = await initialize(where, protocolVersion);
    t.equal(answer.status, 200, `initialize ${where}`);
    return { 'mcp-session-id': String(answer.headers['mcp-session-id']), 'mcp-protocol-version': protocolVersion };
  };
  const call = (text: string, id?: number): Record<string, unknown> => ({
    jsonrpc: '2.0',
    ...(id === undefined ? {} : { id }),
    method: 'tools/call',
    params: { name: 'echo', arguments: { text } },
  });
  const aggregateCall = (text: string): Record<string, unknown> => ({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'recorder__echo', arguments: { text } } });
  const ghToken = `ghp_${'A1b2C3d4E5'.repeat(4)}`;

  await t.test('a request method sent as a notification is refused and never reaches the upstream', async (t) => {
    const session = await openSession('/mcp/recorder');
    const single = await post('/mcp/recorder', JSON.stringify(call('as a notification')), session);
    t.equal(single.status, 400, 'a tools/call without id is an invalid request');
    t.equal(single.body.error.code, ERRORS.invalidRequest.code);
    const secret = await post('/mcp/recorder', JSON.stringify(call(`carry ${ghToken} out`)), session);
    t.equal(secret.status, 400, 'also when it carries an outbound secret');

    const aggregate = await openSession('/mcp');
    t.equal((await post('/mcp', JSON.stringify(aggregateCall('on the aggregate')), aggregate)).status, 400, 'also on /mcp');

    const legacy = await openSession('/mcp/recorder', '2025-03-26');
    const batch = await post('/mcp/recorder', JSON.stringify([call('in a batch'), call('answered', 7)]), legacy);
    t.equal(batch.status, 200);
    const byId = new Map((batch.body as Array<{ id: unknown }>).map((a) => [a.id, a]));
    t.match(byId.get(null), { error: { code: ERRORS.invalidRequest.code } }, 'the batch element without id is answered as invalid');
    t.match(byId.get(7), { result: { content: [{ text: 'answered' }] } }, 'its sibling with an id is served');

    const asRequest = await post('/mcp/recorder', JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'notifications/roots/list_changed' }), session);
    t.equal(asRequest.status, 400, 'a notification method sent with an id is an invalid request too');
    t.equal(asRequest.body.error.code, ERRORS.invalidRequest.code);

    const texts = receivedLines()
      .filter((line) => line.method === 'tools/call')
      .map((line) => (line as { params: { arguments: { text: string } } }).params.arguments.text);
    t.same(texts, ['answered'], 'the upstream received only the call that had an id');
  });

  await t.test('a notification that is forwarded has its decision on record first', async (t) => {
    const session = await openSession('/mcp/recorder');
    const answer = await post('/mcp/recorder', JSON.stringify({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }), session);
    t.equal(answer.status, 202);
    const forwarded = receivedLines().filter((line) => line.method === 'notifications/roots/list_changed').length;
    const decisions = (await auditLines()).filter((r) => r.type === 'decision' && r.method === 'notifications/roots/list_changed').length;
    t.ok(decisions >= 1, 'the notification has a decision record');
    t.ok(forwarded <= decisions, 'no notification reached the upstream without one');
  });

  await t.test('every body that is not JSON is 415', async (t) => {
    const session = await openSession('/mcp/recorder');
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'text/json']) {
      const answer = await post('/mcp/recorder', ping, { ...session, 'content-type': type });
      t.equal(answer.status, 415, type);
      t.equal(answer.body.error.code, ERRORS.unsupportedMediaType.code);
    }
    const res = await request(`${url}/mcp/recorder`, { method: 'POST', dispatcher, headers: { accept: JSON_AND_SSE, ...session }, body: ping });
    await res.body.text();
    t.equal(res.statusCode, 415, 'no Content-Type at all');
    t.equal((await post('/mcp/recorder', ping, { ...session, 'content-type': 'application/json; charset=utf-8' })).status, 200, 'JSON with a charset is served');
  });

  await t.test('arguments nested past the limit are refused with the limit named, and recorded', async (t) => {
    const session = await openSession('/mcp/recorder');
    const deep = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":${'['.repeat(8000)}${']'.repeat(8000)}}}}`;
    const answer = await post('/mcp/recorder', deep, session);
    t.equal(answer.status, 400);
    t.equal(answer.body.error.code, ERRORS.nestedTooDeep.code);
    t.match(answer.body.error.message, /limit 64 levels/);
    const inString = JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: { text: '['.repeat(500) } } });
    t.equal((await post('/mcp/recorder', inString, session)).status, 200, 'brackets inside strings do not count');
    for (const number of ['1e999', '-1E400', '9'.repeat(400)]) {
      const huge = await post('/mcp/recorder', `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","n":${number}}}}`, session);
      t.equal(huge.status, 400, `${number.slice(0, 12)} is refused, not parsed to Infinity`);
      t.equal(huge.body.error.code, ERRORS.numberOutOfRange.code);
    }
    const ordinary = JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'echo', arguments: { text: 'true false null -1.5e3 1e999' } } });
    t.equal((await post('/mcp/recorder', ordinary, session)).status, 200, 'literals and number-like text in strings pass');
    const refusals = (await auditLines()).filter((r) => r.control === 'refusal' && r.event === 'nestedTooDeep');
    t.equal(refusals.length, 1, 'the refusal is on record');
  });

  /** A raw TLS exchange with the demo certificate, for requests undici would not send as written. */
  const rawExchange = async (head: string, body = ''): Promise<string> => {
    const socket = connect({ host: '127.0.0.1', port: g.gateway.port, ca: g.ca, cert: demo.cert, key: demo.key, servername: 'localhost' });
    t.teardown(() => socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.end(`${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    await closed;
    return Buffer.concat(chunks).toString('utf8');
  };

  await t.test('Host given twice is refused; a bad Host on /admin is 403, not 500', async (t) => {
    const port = g.gateway.port;
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const start = 'POST /mcp/recorder HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n';
    t.match(await rawExchange(`${start}host: localhost:${port}\r\nhost: attacker.example\r\n`, ping), /^HTTP\/1\.1 403 /, 'good Host first, foreign second');
    t.match(await rawExchange(`${start}host: localhost:${port}\r\nhost: localhost:${port}\r\n`, ping), /^HTTP\/1\.1 403 /, 'the same Host twice');
    const hostRefused = /^HTTP\/1\.1 403 [\s\S]*Host header not allowed/;
    t.match(await rawExchange(`GET /admin/holds HTTP/1.1\r\nhost: attacker.example\r\n`), hostRefused, 'admin with a foreign Host');
    t.match(await rawExchange(`GET /admin/holds HTTP/1.1\r\nhost: localhost:${port}\r\nhost: attacker.example\r\n`), hostRefused, 'admin with Host twice');
  });

  await t.test('refusals before the policy are counted and recorded, compactly and within bounds', async (t) => {
    const before = (await auditLines()).filter((r) => r.control === 'refusal').length;
    const flood = 200;
    const started = Date.now();
    for (let i = 0; i < flood; i++) {
      const answer = await post('/mcp/recorder', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":${JSON.stringify('x'.repeat(64))}`, {});
      t.equal(answer.status, 400);
    }
    t.equal((await post('/mcp/nosuchserver', '{}')).status, 404);
    // A request on a connection without a client certificate is refused (401) and accounted for.
    const anonymous = connect({ host: '127.0.0.1', port: g.gateway.port, ca: g.ca, servername: 'localhost' });
    anonymous.on('error', () => undefined).resume();
    await new Promise<void>((resolve) =>
      anonymous.once('close', () => resolve()).end(`GET /mcp/recorder HTTP/1.1\r\nhost: localhost:${g.gateway.port}\r\nconnection: close\r\n\r\n`),
    );
    const afterFlood = (await auditLines()).filter((r) => r.control === 'refusal');
    const written = afterFlood.slice(before);
    // Per one-second window: at most 5 records one by one and a summary, for each of the 3 reasons here.
    const windows = Math.ceil((Date.now() - started) / 1000) + 1;
    t.ok(written.length <= windows * 6 + 2 && written.length < flood / 4, `a flood of ${flood} parse errors wrote ${written.length} records over ${windows} windows, not one each`);
    t.ok(written.some((r) => r.event === 'parseError' && r.details?.agent === 'spiffe://portcullis.test/agent/demo'), 'records name the agent and the reason');
    t.ok(written.some((r) => r.event === 'unknownServer'), 'an unknown server path is recorded');
    t.ok(written.some((r) => r.event === 'unauthenticated' && typeof r.details?.remote === 'string'), 'a request without a certificate is recorded by remote address');
    t.notOk(JSON.stringify(written).includes('x'.repeat(64)), 'no raw body in any record');
    // The suppressed rest arrives as a summary when the window closes.
    let summary: AuditLine | undefined;
    for (let i = 0; i < 100 && summary === undefined; i++) {
      summary = (await auditLines()).find((r) => r.control === 'refusal' && r.event === 'parseError' && typeof r.details?.suppressed === 'number');
      if (summary === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.ok(summary, 'a summary record counts the suppressed refusals');
    const metrics = await g.gateway.metrics.exposition();
    const counted = Number(/portcullis_refusals_total\{reason="parseError"\} (\d+)/.exec(metrics.body)?.[1]);
    t.ok(counted >= flood, 'the metric counts every refusal');
    const sessions = (await auditLines()).filter((r) => r.control === 'session' && r.event === 'opened');
    t.ok(sessions.length > 0, 'initialize is on record as an opened session');
  });
});

t.test('sessions are bounded per agent and in all, with a clear refusal and a metric', async (t) => {
  const g = await startTestGateway(t, { listen: { max_sessions_per_agent: 3, max_sessions: 5 } });
  const url = g.gateway.url;
  const agentOf = (name: string): Agent => {
    const tls = g.issue(name);
    const agent = new Agent({ connect: { ca: g.ca, cert: tls.cert, key: tls.key } });
    t.teardown(() => agent.close());
    return agent;
  };
  const demo = agentOf('demo');
  const other = agentOf('reporter-2');
  const raw = rawMcp(url, demo);
  const initialize = (agent: Agent): Promise<RawAnswer> => raw.initialize('/mcp/everything', '2025-06-18', agent);
  const opened: string[] = [];
  for (let i = 0; i < 3; i++) {
    const answer = await initialize(demo);
    t.equal(answer.status, 200, `session ${i + 1} of 3`);
    opened.push(String(answer.headers['mcp-session-id']));
  }
  const refused = await initialize(demo);
  t.equal(refused.status, 429, 'past the per-agent limit: 429');
  t.equal(refused.body.error.code, ERRORS.agentSessionLimit.code);
  t.match(refused.body.error.message, /too many open sessions/);
  t.equal((await initialize(other)).status, 200, 'another agent still gets a session');
  const closed = await request(`${url}/mcp/everything`, { method: 'DELETE', dispatcher: demo, headers: { 'mcp-session-id': opened[0] as string } });
  await closed.body.text();
  t.equal(closed.statusCode, 200);
  t.equal((await initialize(demo)).status, 200, 'a closed session frees its place');
  // demo holds 3, reporter-2 holds 1: one more place in all (max_sessions 5), then 503.
  t.equal((await initialize(other)).status, 200);
  const full = await initialize(other);
  t.equal(full.status, 503, 'past the gateway-wide limit: 503');
  t.equal(full.body.error.code, ERRORS.sessionLimit.code);
  const metrics = await g.gateway.metrics.exposition();
  t.match(metrics.body, /portcullis_refusals_total\{reason="agentSessionLimit"\} 1\b/);
  t.match(metrics.body, /portcullis_refusals_total\{reason="sessionLimit"\} 1\b/);
  t.match(metrics.body, /portcullis_sessions_open 5\b/);
});
