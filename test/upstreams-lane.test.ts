/**
 * The upstream hot path: the gateway's own stdio transport (line framing,
 * one write per event-loop turn) and the request lane that sends forwarded
 * requests itself, both against a real server-everything child. A call the
 * gateway gives up on (agent abort, deadline) is cancelled upstream: the
 * SDK server then never answers it, which the raw stream shows.
 */
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage, Progress } from '@modelcontextprotocol/sdk/types.js';
import { ERRORS, GatewayError } from '../gateway/errors.js';
import { LineSplitter, LineTooLongError } from '../gateway/upstreams/line-splitter.js';
import { RequestLane } from '../gateway/upstreams/request-lane.js';
import { StdioTransport } from '../gateway/upstreams/stdio-transport.js';
import { EVERYTHING } from './fixtures/gateway-harness.js';

t.test('lines are split across chunks, "\\r" dropped, and bounded', async (t) => {
  const lines: string[] = [];
  const splitter = new LineSplitter(10, (line) => lines.push(line));
  splitter.push('ab');
  splitter.push('c\r\nde');
  splitter.push('f\n\ng\nh');
  t.same(lines, ['abc', 'def', '', 'g'], 'complete lines only, in order');
  splitter.push('ij\n');
  t.same(lines.at(-1), 'hij', 'a line spread over chunks is joined once');
  t.throws(() => splitter.push('x'.repeat(11)), LineTooLongError, 'an unfinished line past the bound');
  t.throws(() => splitter.push(`${'y'.repeat(11)}\n`), LineTooLongError, 'a finished line past the bound');
  splitter.push('ok\n');
  t.same(lines.at(-1), 'ok', 'usable again after refusing a line');
});

type Seen = JSONRPCMessage & { id?: unknown; method?: string; params?: Record<string, unknown> };

interface Connected {
  lane: RequestLane;
  transport: StdioTransport;
  /** Every message the child sent, as it arrived (before the lane saw it). */
  seen: Seen[];
  /** Resolves when a message matching `predicate` has arrived (rejects after 10 s). */
  arrival(predicate: (message: Seen) => boolean): Promise<void>;
}

/** server-everything over the gateway's transport and lane, handshake done by the SDK client as in the gateway. */
async function connectEverything(t: { teardown(fn: () => unknown): void }): Promise<Connected> {
  const transport = new StdioTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], cwd: process.cwd(), env: {} });
  const lane = new RequestLane(transport, 'everything');
  const client = new Client({ name: 'lane-test', version: '1.0.0' });
  await client.connect(lane);
  t.teardown(() => client.close());
  const seen: Seen[] = [];
  const waiters = new Set<{ predicate: (message: Seen) => boolean; resolve(): void }>();
  const toLane = transport.onmessage;
  transport.onmessage = (message) => {
    seen.push(message as Seen);
    for (const waiter of waiters) if (waiter.predicate(message as Seen)) waiter.resolve();
    toLane?.(message);
  };
  const arrival = (predicate: (message: Seen) => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      if (seen.some(predicate)) return resolve();
      const timer = setTimeout(() => reject(new Error('message never arrived')), 10_000);
      const waiter = {
        predicate,
        resolve: () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve();
        },
      };
      waiters.add(waiter);
    });
  return { lane, transport, seen, arrival };
}

t.test('requests, upstream errors and concurrent calls through the lane', async (t) => {
  const c = await connectEverything(t);
  const echo = await c.lane.request('tools/call', { name: 'echo', arguments: { message: 'hi' } }, { timeoutMs: 10_000 });
  t.match(echo, { content: [{ type: 'text', text: 'Echo: hi' }] });
  const failed = await c.lane.request('no/such-method', {}, { timeoutMs: 10_000 }).catch((err: unknown) => err);
  t.ok(failed instanceof McpError, "the upstream's own JSON-RPC error");
  t.equal((failed as McpError).code, -32601, 'passed on with its code');
  const many = await Promise.all(
    Array.from({ length: 20 }, (_, i) => c.lane.request('tools/call', { name: 'echo', arguments: { message: `m${i}` } }, { timeoutMs: 10_000 })),
  );
  t.same(
    many.map((r) => (r.content as Array<{ text: string }>)[0]?.text),
    Array.from({ length: 20 }, (_, i) => `Echo: m${i}`),
    'twenty calls written in one turn each get their own answer',
  );
});

t.test('an aborted call is cancelled upstream: its answer never comes', async (t) => {
  const c = await connectEverything(t);
  const abort = new AbortController();
  const progress: Progress[] = [];
  const call = c.lane.request(
    'tools/call',
    { name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } },
    {
      signal: abort.signal,
      timeoutMs: 10_000,
      onprogress: (p) => {
        progress.push(p);
        abort.abort();
      },
    },
  );
  const error = await call.catch((err: unknown) => err);
  t.ok(error instanceof GatewayError && error.kind === 'cancelled', 'the caller gets "cancelled"');
  t.same(progress.length, 1, 'progress after the abort is not delivered');
  const token = c.seen.find((m) => m.method === 'notifications/progress')?.params?.progressToken;
  // The tool keeps reporting progress (it ignores cancellation); right after its last step it would answer.
  await c.arrival((m) => m.method === 'notifications/progress' && m.params?.progressToken === token && m.params?.progress === 3);
  await c.lane.request('ping', undefined, { timeoutMs: 10_000 });
  t.notOk(
    c.seen.some((m) => m.id === token),
    'no answer to the cancelled call before a later ping was answered: the server saw notifications/cancelled',
  );
});

t.test('a call past its deadline times out and is cancelled upstream', async (t) => {
  const c = await connectEverything(t);
  const error = await c.lane
    .request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 0.4, steps: 1 } }, { timeoutMs: 50, onprogress: () => undefined })
    .catch((err: unknown) => err);
  t.ok(error instanceof GatewayError, 'a gateway error');
  t.equal((error as GatewayError).body.code, ERRORS.upstreamTimeout.code);
  t.match((error as GatewayError).body.message, /everything/, 'naming the upstream');
  await c.arrival((m) => m.method === 'notifications/progress' && m.params?.progress === 1);
  const token = c.seen.find((m) => m.method === 'notifications/progress')?.params?.progressToken;
  await c.lane.request('ping', undefined, { timeoutMs: 10_000 });
  t.notOk(c.seen.some((m) => m.id === token), 'the upstream dropped the timed-out call');
});

t.test('calls waiting when the connection closes fail as upstream unavailable', async (t) => {
  const c = await connectEverything(t);
  const pending = c.lane.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 1 } }, { timeoutMs: 10_000 });
  await c.transport.close();
  const error = await pending.catch((err: unknown) => err);
  t.equal((error as GatewayError).body.code, ERRORS.upstreamUnavailable.code);
  const later = await c.lane.request('ping', undefined, { timeoutMs: 1000 }).catch((err: unknown) => err);
  t.equal((later as GatewayError).body.code, ERRORS.upstreamUnavailable.code, 'and so do calls after it');
});
