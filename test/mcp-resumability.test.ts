/**
 * Resumable answers (MCP Streamable HTTP, "Resumability and Redelivery"):
 * an agent whose POST event stream breaks mid-call resumes it with GET and
 * Last-Event-ID and gets what followed, the answer included (also when it
 * came while nobody listened), and the call runs on meanwhile; an event id
 * this session cannot resume after (unknown, another session's, a stream
 * already delivered) is refused; a resume takes a stream over from a
 * connection the gateway still holds (a half-open one); a session keeps what it can replay within bounds (events and bytes,
 * all its streams together), and a broken stream nobody resumes within the
 * grace period is given up.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import t from 'tap';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { ERRORS } from '../gateway/errors.js';
import { SseStream } from '../gateway/mcp/http-io.js';
import type { WireMessage } from '../gateway/mcp/http-io.js';
import { SessionEvents } from '../gateway/mcp/resumable.js';
import type { ResumableStream } from '../gateway/mcp/resumable.js';
import { startTestGateway } from './fixtures/gateway-harness.js';
import type { TestGateway } from './fixtures/gateway-harness.js';

const JSON_AND_SSE = 'application/json, text/event-stream';
const PROTOCOL = '2025-11-25';

interface SseEvent {
  id?: string;
  retry?: string;
  data: string;
}

/** The complete events in an event-stream text (a trailing partial one is left out). */
function events(text: string): SseEvent[] {
  const blocks = text.split('\n\n');
  blocks.pop();
  return blocks.map((block) => {
    const event: SseEvent = { data: '' };
    for (const line of block.split('\n')) {
      const colon = line.indexOf(': ');
      const [field, value] = colon < 0 ? [line.replace(/:$/, ''), ''] : [line.slice(0, colon), line.slice(colon + 2)];
      if (field === 'id') event.id = value;
      else if (field === 'retry') event.retry = value;
      else if (field === 'data') event.data = value;
    }
    return event;
  });
}

/** Polls `check` (bounded) until it holds. */
async function eventually(check: () => boolean | Promise<boolean>, attempts = 250, everyMs = 20): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return false;
}

interface RawPost {
  /** What arrived until `until` held. */
  text: string;
  drop(): void;
  /** Whether the gateway ended the response. */
  closed(): boolean;
}

interface Agentside {
  session: string;
  /** POSTs a message on a raw TLS connection; resolves with the connection once `until` holds for what arrived. */
  postRaw(message: object, until: (text: string) => boolean): Promise<RawPost>;
  /** GET with Last-Event-ID: the status, and the whole body once the gateway ends it. */
  resume(lastEventId: string): Promise<{ status: number; text: string }>;
}

async function openSession(t: Test, g: TestGateway, agent: { cert: string; key: string }): Promise<Agentside> {
  const dispatcher = new Agent({ connect: { ca: g.ca, ...agent } });
  t.teardown(() => dispatcher.destroy());
  const url = `${g.gateway.url}/mcp/everything`;
  const post = async (message: object, session?: string): Promise<{ session: string; text: string }> => {
    const res = await request(url, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, ...(session === undefined ? {} : { 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL }) },
      body: JSON.stringify(message),
    });
    return { session: String(res.headers['mcp-session-id'] ?? session), text: await res.body.text() };
  };
  const { session } = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);

  const postRaw = async (message: object, until: (text: string) => boolean): Promise<RawPost> => {
    const socket = connect({ host: '127.0.0.1', port: g.gateway.port, ca: g.ca, ...agent, servername: 'localhost' });
    t.teardown(() => socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const body = JSON.stringify(message);
    let received = '';
    const arrived = new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('utf8');
        if (until(received)) resolve();
      });
      socket.once('close', () => reject(new Error(`connection closed after: ${received}`)));
    });
    socket.write(
      `POST /mcp/everything HTTP/1.1\r\nhost: localhost:${g.gateway.port}\r\ncontent-type: application/json\r\naccept: ${JSON_AND_SSE}\r\n` +
        `mcp-session-id: ${session}\r\nmcp-protocol-version: ${PROTOCOL}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await arrived;
    // The gateway ends a response with the last chunk, or closes the connection.
    return { text: received, drop: () => socket.destroy(), closed: () => socket.closed || received.endsWith('\r\n0\r\n\r\n') };
  };
  const resume = async (lastEventId: string): Promise<{ status: number; text: string }> => {
    const res = await request(url, {
      method: 'GET',
      dispatcher,
      headers: { accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL, 'last-event-id': lastEventId },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  return { session, postRaw, resume };
}

/** A long-running call that reports progress: the POST is answered with an event stream. */
function longCall(id: number, seconds: number): object {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: seconds, steps: 4 }, _meta: { progressToken: `p${id}` } } };
}

/** Everything after the HTTP head of a raw response. */
function streamOf(raw: string): string {
  return raw.slice(raw.indexOf('\r\n\r\n') + 4);
}

const primed = (text: string): boolean => events(streamOf(text)).some((e) => e.id !== undefined);

async function callsEnded(g: TestGateway, outcome: string, count: number): Promise<boolean> {
  const exposition = (await g.gateway.metrics.exposition()).body;
  return new RegExp(`portcullis_upstream_calls_total\\{server="everything",outcome="${outcome}"\\} ${count}\\b`).test(exposition);
}

t.test('through the gateway', async (t) => {
  const g = await startTestGateway(t);
  const demo = g.issue('demo');
  const agent = await openSession(t, g, demo);

  await t.test('a call whose POST stream breaks after the first event is resumed, answer included', async (t) => {
    const post = await agent.postRaw(longCall(1, 2), primed);
    t.match(post.text, /^HTTP\/1\.1 200 [\s\S]*text\/event-stream/, 'answered with an event stream');
    const first = events(streamOf(post.text))[0];
    t.match(first, { id: /\S/, retry: /^\d+$/, data: '' }, 'it starts with a priming event: an id, the reconnection delay, no data');
    post.drop();

    const resumed = await agent.resume(first?.id ?? '');
    t.equal(resumed.status, 200, 'GET with Last-Event-ID resumes the stream');
    const replay = events(resumed.text);
    const messages = replay.map((e) => JSON.parse(e.data) as { method?: string; id?: number; result?: unknown });
    t.ok(replay.every((e) => e.id !== undefined && e.id !== first?.id), 'every event carries a new id of its own');
    t.ok(messages.filter((m) => m.method === 'notifications/progress').length >= 1, 'the progress that followed');
    t.match(messages.at(-1), { id: 1, result: { content: [{ type: 'text' }] } }, 'and the answer, last; then the stream ends');
    t.ok(await eventually(() => callsEnded(g, 'ok', 1)), 'the call ran to its end upstream, not cancelled');
  });

  await t.test('an answer that came while nobody listened is replayed', async (t) => {
    const post = await agent.postRaw(longCall(2, 1), primed);
    const first = events(streamOf(post.text))[0];
    post.drop();
    t.ok(await eventually(() => callsEnded(g, 'ok', 2)), 'the call ends while the agent is away');
    const resumed = await agent.resume(first?.id ?? '');
    t.equal(resumed.status, 200);
    t.match(JSON.parse(events(resumed.text).at(-1)?.data ?? '{}'), { id: 2, result: {} }, 'the answer is there');
    const again = await agent.resume(first?.id ?? '');
    t.equal(again.status, ERRORS.unknownEventId.http, 'a stream delivered to its end is forgotten');
  });

  await t.test('event ids this session cannot resume after are refused', async (t) => {
    const unknown = await agent.resume('no-such-stream:1');
    t.equal(unknown.status, 400, 'an unknown id');
    t.match(JSON.parse(unknown.text), { error: { code: ERRORS.unknownEventId.code, message: ERRORS.unknownEventId.message } });

    const other = await openSession(t, g, demo);
    const post = await other.postRaw(longCall(3, 1), primed);
    const otherId = events(streamOf(post.text))[0]?.id ?? '';
    const foreign = await agent.resume(otherId);
    t.equal(foreign.status, 400, "another session's event id, though the same agent's");
    const takenOver = await other.resume(otherId);
    t.equal(takenOver.status, 200, 'its own session resumes it, even while the gateway still sees the old connection');
    t.match(JSON.parse(events(takenOver.text).at(-1)?.data ?? '{}'), { id: 3, result: {} }, 'with the answer');
    t.ok(await eventually(() => post.closed()), 'the old connection is ended');
    post.drop();
  });
});

t.test('a broken stream nobody resumes is cancelled after the grace period', async (t) => {
  const g = await startTestGateway(t, { listen: { resume_grace_ms: 1000 } });
  const agent = await openSession(t, g, g.issue('demo'));
  const post = await agent.postRaw(longCall(1, 30), primed);
  const broke = Date.now();
  post.drop();
  t.ok(await eventually(() => callsEnded(g, 'cancelled', 1), 500), 'the call is cancelled');
  const after = Date.now() - broke;
  t.ok(after >= 900 && after < 10_000, `after the grace period, not at once nor at the call's end (${after} ms)`);
});

t.test('resumability off (resume_grace_ms: 0): no event ids, a broken stream cancels at once', async (t) => {
  const g = await startTestGateway(t, { listen: { resume_grace_ms: 0 } });
  const agent = await openSession(t, g, g.issue('demo'));
  const post = await agent.postRaw(longCall(1, 30), (text) => text.includes('notifications/progress'));
  t.notOk(events(streamOf(post.text)).some((e) => e.id !== undefined), 'no event ids');
  const broke = Date.now();
  post.drop();
  t.ok(await eventually(() => callsEnded(g, 'cancelled', 1)), 'the call is cancelled');
  t.ok(Date.now() - broke < 900, 'at once');
  t.equal((await agent.resume('any:1')).status, 400, 'and Last-Event-ID names nothing');
});

/** Real event-stream connections on a loopback server, for the session store's own bounds. */
async function connections(t: Test): Promise<() => Promise<{ stream: SseStream; text: () => string; drop(): void }>> {
  const waiting: Array<(res: ServerResponse) => void> = [];
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => waiting.shift()?.(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const port = (server.address() as AddressInfo).port;
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.destroy());
  return async () => {
    const served = new Promise<ServerResponse>((resolve) => waiting.push(resolve));
    const abort = new AbortController();
    const answer = request(`http://127.0.0.1:${port}/`, { dispatcher, signal: abort.signal });
    const stream = new SseStream(await served, {});
    let text = '';
    (await answer).body.on('data', (chunk: Buffer) => (text += chunk.toString('utf8'))).on('error', () => undefined);
    return { stream, text: () => text, drop: () => abort.abort() };
  };
}

const note = (n: number, pad = ''): WireMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `${n}${pad}` } });

t.test('the session store: bounds, ids, grace', async (t) => {
  const connect = await connections(t);
  const settings = { graceMs: 100, retryMs: 1000, maxEvents: 3, maxBytes: 400 };

  await t.test('past the event bound the oldest go, and a resume from before them is refused', async (t) => {
    const store = new SessionEvents(settings);
    const stream = store.open();
    const c = await connect();
    stream.start(c.stream, true);
    for (let n = 1; n <= 5; n++) stream.send(note(n));
    t.ok(await eventually(() => events(c.text()).length === 6), 'all six events went out live');
    const ids = events(c.text()).map((e) => e.id ?? '');
    t.equal(new Set(ids).size, 6, 'each with its own id');
    t.notOk(store.find(ids[1] ?? ''), 'after event 1: events 2 and 3 were dropped, refused');
    t.ok(store.find(ids[2] ?? ''), 'after event 2: 3, 4 and 5 are kept');
    t.ok(store.find(ids[5] ?? ''), 'after the last one: nothing to replay, still a place to resume');
  });

  await t.test('past the byte bound too; a message larger than the bound is not kept at all', async (t) => {
    const store = new SessionEvents(settings);
    const stream = store.open();
    const c = await connect();
    stream.start(c.stream, true);
    stream.send(note(1, 'x'.repeat(150)));
    stream.send(note(2, 'x'.repeat(150)));
    stream.send(note(3, 'x'.repeat(150)));
    stream.send(note(4, 'x'.repeat(500)));
    stream.send(note(5));
    t.ok(await eventually(() => events(c.text()).length === 6));
    const ids = events(c.text()).map((e) => e.id ?? '');
    t.notOk(store.find(ids[2] ?? ''), 'the oldest went to stay under the bytes');
    t.notOk(store.find(ids[3] ?? ''), 'the oversized one was never kept: no resume from before it');
    t.ok(store.find(ids[4] ?? ''), 'after it, what followed is kept');
  });

  await t.test('the bounds hold for all streams of a session together; ids are not shared between sessions', async (t) => {
    const store = new SessionEvents(settings);
    const a = store.open();
    const b = store.open();
    const ca = await connect();
    const cb = await connect();
    a.start(ca.stream, true);
    b.start(cb.stream, true);
    a.send(note(1));
    a.send(note(2));
    b.send(note(3));
    b.send(note(4));
    t.ok(await eventually(() => events(ca.text()).length === 3 && events(cb.text()).length === 3));
    const idsA = events(ca.text()).map((e) => e.id ?? '');
    t.notOk(store.find(idsA[0] ?? ''), "stream a's oldest went for stream b's newest");
    t.ok(store.find(idsA[1] ?? ''));
    t.notOk(new SessionEvents(settings).find(idsA[1] ?? ''), 'another session knows none of them');
    store.close();
    t.notOk(store.find(idsA[1] ?? ''), 'dropped with the session');
  });

  await t.test('a broken stream waits the grace period for its resume, then is given up', async (t) => {
    const store = new SessionEvents(settings);
    let givenUp = 0;
    const stream: ResumableStream = store.open(() => givenUp++);
    const c = await connect();
    stream.start(c.stream, true);
    t.ok(await eventually(() => events(c.text()).length === 1), 'the priming event went out');
    const primingId = events(c.text())[0]?.id ?? '';
    c.drop();
    t.ok(await eventually(() => !stream.live), 'the connection is gone');
    t.ok(stream.open, 'the stream waits');
    stream.send(note(1));
    const back = await connect();
    const found = store.find(primingId);
    t.ok(found, 'resumable within the grace period');
    if (found !== undefined) found.stream.resume(back.stream, found.after);
    t.ok(await eventually(() => events(back.text()).length === 1), 'what came meanwhile is replayed');
    back.drop();
    t.ok(await eventually(() => givenUp === 1), 'given up when not resumed again');
    t.notOk(stream.open);
    t.notOk(store.find(primingId), 'and forgotten');
  });

  await t.test('a stream that gave the agent no event id is given up at once', async (t) => {
    const store = new SessionEvents(settings);
    let givenUp = 0;
    const stream = store.open(() => givenUp++);
    const c = await connect();
    stream.start(c.stream, false);
    c.drop();
    t.ok(await eventually(() => givenUp === 1, 40, 5), 'given up without waiting');
  });
});
