/**
 * Property-based fuzzing of the HTTP edge (issue 11). A real gateway (mTLS,
 * default policy, audit trail on) in front of a real MCP server that records
 * every line it receives gets tens of thousands of generated and mutated
 * messages: wrong types, hostile unicode, huge strings, random methods,
 * notifications, batches, duplicate keys, odd headers. After every burst:
 * every POST was answered, the gateway still serves, every line the upstream
 * received from an agent has its decision record (same method, tool and
 * argument digest), and no log line or audit record holds a raw control,
 * bidi or zero-width character. Throughout: /healthz answers 200. At the
 * end: the audit trail verifies.
 *
 * Bounded: at least 20,000 messages within 60 s; PORTCULLIS_FUZZ_LONG=1 runs
 * 200,000. PORTCULLIS_FUZZ_SEED=<n> replays a run (the seed is printed).
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import t from 'tap';
import { Agent, errors as undiciErrors, request } from 'undici';
import { argumentsDigest } from '../gateway/audit/chain.js';
import { parseVerificationKey } from '../gateway/audit/checkpoint.js';
import { AUDIT_DEFAULTS } from '../gateway/audit/config.js';
import { verifyAudit } from '../gateway/audit/verify.js';
import { redactJson } from '../gateway/sanitize/json.js';
import { policyWithGrants, ROOT, startTestGateway } from './fixtures/gateway-harness.js';
import { post, type Post } from './fixtures/fuzz-messages.js';

const LONG = process.env.PORTCULLIS_FUZZ_LONG === '1';
const TARGET_MESSAGES = LONG ? 200_000 : 20_000;
/**
 * The run ends at the message count (15-25 s of fuzzing on an idle 2-core
 * machine); this cap only stops a gateway that has become pathologically
 * slow, and then the count assertion fails.
 */
const FUZZ_MS = LONG ? 30 * 60_000 : 240_000;
const SEED = process.env.PORTCULLIS_FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.PORTCULLIS_FUZZ_SEED);
/** Runs per fast-check campaign; a campaign that fails is shrunk, the next starts fresh. */
const RUNS_PER_CAMPAIGN = 25;
/** Longest generated string (huge strings), and most messages in one batch. */
const HUGE = 50_000;
const MAX_BATCH = 80;
const MAX_BURST = 4;

const SERVER = 'recording';
const RECORDER = path.join(ROOT, 'test/fixtures/recording-server.mjs');
const JSON_AND_SSE = 'application/json, text/event-stream';
/** Agents granted the recording server, and one the policy does not know (its messages are denied). */
const AGENTS = ['fuzz-a', 'fuzz-b', 'fuzz-c', 'stranger'];
const SYNC_AGENT = 'fuzz-sync';

/** Raw characters no log line or audit record may hold: C0 (newline ends the line), DEL, C1, separators, bidi, invisible. */
const FORBIDDEN = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/;
const LIST_METHODS = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']);
/** The request-id prefix of the gateway's upstream requests (gateway/upstreams/request-lane.ts). */
const GATEWAY_ID_PREFIX = 'portcullis-';

type Property = 'answered' | 'serving' | 'audited' | 'clean-logs';

interface Violation {
  property: Property;
  detail: string;
}

/** New complete lines of a file that only grows; a line is read once, when its newline is there. */
class Tail {
  private offset = 0;
  constructor(private readonly file: string) {}

  lines(): string[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buffer = Buffer.alloc(size - this.offset);
      readSync(fd, buffer, 0, buffer.length, this.offset);
      const end = buffer.lastIndexOf(0x0a);
      if (end < 0) return [];
      this.offset += end + 1;
      return buffer.subarray(0, end).toString('utf8').split('\n');
    } finally {
      closeSync(fd);
    }
  }
}

/** The tails of every file in a folder of rotated files. */
class FolderTail {
  private readonly tails = new Map<string, Tail>();
  constructor(private readonly dir: string) {}

  lines(): string[] {
    const out: string[] = [];
    for (const file of readdirSync(this.dir).sort()) {
      let tail = this.tails.get(file);
      if (tail === undefined) this.tails.set(file, (tail = new Tail(path.join(this.dir, file))));
      out.push(...tail.lines());
    }
    return out;
  }
}

/**
 * A line the gateway sends on its own behalf, not an agent's message:
 * its client handshake (agents' initialize and ping are answered by the
 * gateway, never forwarded), cancellations of its own requests, and the
 * list requests of its tool catalog, tool pinning and aggregated lists,
 * which carry no params or only a cursor. (An agent's list request of
 * that exact shape is indistinguishable and is skipped as well.)
 */
function gatewaysOwn(method: string, params: Record<string, unknown> | undefined): boolean {
  if (method === 'initialize' || method === 'notifications/initialized' || method === 'ping') return true;
  if (method === 'notifications/cancelled') return typeof params?.requestId === 'string' && params.requestId.startsWith(GATEWAY_ID_PREFIX);
  if (LIST_METHODS.has(method)) return params === undefined || (Object.keys(params).length === 1 && typeof params.cursor === 'string');
  return false;
}

/** How a decision record is matched: method and tool as the audit writer stores them, digest of the raw arguments. */
function callKey(method: string, tool: string | undefined, digest: string | undefined): string {
  return JSON.stringify([method, tool ?? null, digest ?? null]);
}

/** Any digest: for params whose progress token the gateway replaced by its own, so the agent's digest cannot be recomputed. */
const ANY_DIGEST = '*';

/** method and tool as an audit record holds them (sanitized and cut like every field). */
function asRecorded(method: string, tool: string | undefined): { method: string; tool?: string } {
  const fields = tool === undefined ? { method } : { method, tool };
  return redactJson(fields, { maxLength: AUDIT_DEFAULTS.max_field_length }).value as { method: string; tool?: string };
}

/** The key of an upstream line, or undefined for lines that are not an agent's forwarded message. */
function receivedKey(line: string): string | undefined {
  const message = JSON.parse(line) as { method?: unknown; params?: Record<string, unknown> };
  if (typeof message.method !== 'string') return undefined; // an answer to an upstream request
  const { method, params } = message;
  if (gatewaysOwn(method, params)) return undefined;
  const name = method === 'tools/call' && typeof params?.name === 'string' ? params.name : undefined;
  const args = method === 'tools/call' ? params?.arguments : params;
  const recorded = asRecorded(method, name);
  // The gateway asks for progress with its own token (request-lane.ts); tools/call digests only the arguments, other methods all params.
  const token = (params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
  const rewritten = method !== 'tools/call' && typeof token === 'string' && token.startsWith(GATEWAY_ID_PREFIX);
  return callKey(recorded.method, recorded.tool, rewritten ? ANY_DIGEST : args === undefined ? undefined : argumentsDigest(args));
}

/** Cut, and everything but printable ASCII as \\uXXXX: a counterexample prints readably whatever it holds. */
function shown(text: string, max = 1_500): string {
  const cut = text.length <= max ? text : text.slice(0, max);
  const escaped = cut.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return cut === text ? escaped : `${escaped}... (${text.length} chars)`;
}

function describePost(p: Post): string {
  const where = p.path === undefined ? `session #${p.session}${p.anyVersion ? ' (any version)' : ''}` : `session #${p.session} to ${p.path}`;
  return `POST ${where} headers=${JSON.stringify(p.headers)} body(${p.body.messages} message(s))=${shown(p.body.text)}`;
}

t.test('the HTTP edge under generated and mutated MCP traffic', async (t) => {
  t.setTimeout(FUZZ_MS + 120_000);
  t.comment(`seed ${SEED} (replay: PORTCULLIS_FUZZ_SEED=${SEED}); target ${TARGET_MESSAGES} messages`);

  const logLines: string[] = [];
  let logTail = '';
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (logTail + chunk.toString('utf8')).split('\n');
      logTail = lines.pop() ?? '';
      logLines.push(...lines);
      done();
    },
  });
  const decider = await policyWithGrants(t, { 'fuzz-a': [SERVER], 'fuzz-b': [SERVER], 'fuzz-c': [SERVER], [SYNC_AGENT]: [SERVER] });
  const g = await startTestGateway(
    t,
    {
      audit: { dir: 'audit', fsync: 'interval', fsync_interval_ms: 200, checkpoint_every: 500 },
      log: { level: 'info' },
      // One child for every agent: the sync listing, read after every earlier line, proves each was recorded.
      upstreams: { [SERVER]: { stdio: { command: 'node', args: [RECORDER, 'received.jsonl'] }, isolation: 'shared' } },
    },
    decider,
    logDestination,
  );
  const url = g.gateway.url;
  const received = new Tail(path.join(g.dir, 'received.jsonl'));
  const audit = new FolderTail(path.join(g.dir, 'audit'));

  const dispatchers = new Map<string, Agent>();
  for (const agent of [...AGENTS, SYNC_AGENT]) {
    const { cert, key } = g.issue(agent);
    const dispatcher = new Agent({ connect: { ca: g.ca, cert, key }, connections: MAX_BURST + 1 });
    dispatchers.set(agent, dispatcher);
  }
  t.teardown(async () => {
    for (const dispatcher of dispatchers.values()) await dispatcher.close();
  });
  const dispatcherOf = (agent: string): Agent => dispatchers.get(agent) as Agent;

  interface Session {
    agent: string;
    path: string;
    version: string;
    id: string;
  }
  const initialize = async (agent: string, where: string, version: string): Promise<Session | undefined> => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } });
    const res = await request(`${url}${where}`, { method: 'POST', dispatcher: dispatcherOf(agent), headers: { 'content-type': 'application/json', accept: JSON_AND_SSE }, body });
    await res.body.text();
    const id = res.headers['mcp-session-id'];
    return res.statusCode === 200 && typeof id === 'string' ? { agent, path: where, version, id } : undefined;
  };
  const sessions: Session[] = [];
  for (const agent of AGENTS) {
    for (const where of ['/mcp', `/mcp/${SERVER}`]) {
      // 2025-03-26 still allows JSON-RPC batches; 2025-06-18 refuses them.
      for (const version of ['2025-03-26', '2025-06-18']) {
        const session = await initialize(agent, where, version);
        if (session !== undefined) sessions.push(session);
      }
    }
  }
  const batching = sessions.filter((s) => s.version < '2025-06-18');
  t.ok(batching.length >= 4, `sessions opened: ${sessions.map((s) => `${s.agent} ${s.path} ${s.version}`).join('; ')}`);
  const syncSession = await initialize(SYNC_AGENT, '/mcp', '2025-06-18');
  if (syncSession === undefined) throw new Error('the sync session did not open');

  // /healthz, polled all along.
  const health = { checks: 0, failures: [] as string[] };
  let polling: Promise<void> | undefined;
  const healthTimer = setInterval(() => {
    polling ??= request(`${url}/healthz`, { dispatcher: dispatcherOf(SYNC_AGENT), headersTimeout: 10_000, bodyTimeout: 10_000 })
      .then(async (res) => {
        await res.body.text();
        health.checks++;
        if (res.statusCode !== 200) health.failures.push(`status ${res.statusCode}`);
      })
      .catch((err: unknown) => {
        health.failures.push(err instanceof Error ? err.message : String(err));
      })
      .finally(() => {
        polling = undefined;
      });
  }, 250);
  t.teardown(() => clearInterval(healthTimer));

  const outcomes = new Map<string, number>();
  const tally = (what: string): void => void outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  let messages = 0;
  let posts = 0;
  let forwardedChecked = 0;
  let syncId = 1;

  const send = async (p: Post): Promise<Violation | undefined> => {
    const here = sessions.filter((s) => (s.path === '/mcp') === (p.endpoint === 'aggregate'));
    const pool = p.body.batch && !p.anyVersion ? here.filter((s) => batching.includes(s)) : here;
    const session = pool[p.session % pool.length] as Session;
    const headers: Record<string, string> = {};
    if (p.headers.contentType !== '') headers['content-type'] = p.headers.contentType;
    if (p.headers.accept !== '') headers.accept = p.headers.accept;
    const sessionId =
      p.headers.session === 'own'
        ? session.id
        : p.headers.session === 'other'
          ? sessions[(p.session + 1) % sessions.length]?.id
          : p.headers.session === 'none'
            ? undefined
            : p.headers.session.value;
    if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
    const protocol = p.headers.protocol === 'own' ? session.version : p.headers.protocol === 'none' ? undefined : p.headers.protocol.value;
    if (protocol !== undefined) headers['mcp-protocol-version'] = protocol;
    try {
      const res = await request(`${url}${p.path ?? session.path}`, {
        method: 'POST',
        dispatcher: dispatcherOf(session.agent),
        headers,
        body: p.body.text,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      const answer = await res.body.text();
      tally(`http ${res.statusCode}`);
      for (const m of answer.matchAll(/"error":\{"code":(-?\d+)/g)) tally(`rpc ${m[1]}`);
      for (let n = answer.split('"result":').length - 1; n > 0; n--) tally('rpc result');
      posts++;
      messages += p.body.messages;
      return undefined;
    } catch (err) {
      // A header undici itself refuses to send is the generator's doing, not the gateway's.
      if (err instanceof undiciErrors.InvalidArgumentError) return undefined;
      return { property: 'answered', detail: `no HTTP answer: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}` };
    }
  };

  /** A fan-out list on the aggregated endpoint: once answered, the upstream has read (and recorded) every earlier line. */
  const sync = async (): Promise<Violation | undefined> => {
    try {
      const res = await request(`${url}/mcp`, {
        method: 'POST',
        dispatcher: dispatcherOf(SYNC_AGENT),
        headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': syncSession.id, 'mcp-protocol-version': syncSession.version },
        body: JSON.stringify({ jsonrpc: '2.0', id: syncId++, method: 'tools/list' }),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      const text = await res.body.text();
      if (res.statusCode === 200 && text.includes('"tools"')) return undefined;
      return { property: 'serving', detail: `a plain tools/list was answered ${res.statusCode}: ${shown(text, 400)}` };
    } catch (err) {
      return { property: 'serving', detail: `a plain tools/list got no answer: ${err instanceof Error ? err.message : String(err)}` };
    }
  };

  /** What this burst left: upstream lines without a decision record, hostile characters in logs and records. */
  const inspect = async (): Promise<Violation[]> => {
    const found: Violation[] = [];
    await g.gateway.audit?.flush();
    const records = audit.lines();
    const logs = logLines.splice(0, logLines.length);
    for (const [where, lines] of [['log line', logs], ['audit record', records]] as const) {
      const bad = lines.find((line) => FORBIDDEN.test(line));
      if (bad !== undefined) {
        const ch = FORBIDDEN.exec(bad)?.[0] ?? '';
        found.push({ property: 'clean-logs', detail: `a ${where} holds raw U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}: ${shown(bad, 600)}` });
      }
    }
    // Decision records of this burst that let a message go on, by key, and by method and tool alone.
    const allowed = new Map<string, number>();
    const count = (key: string): void => void allowed.set(key, (allowed.get(key) ?? 0) + 1);
    for (const line of records) {
      const r = JSON.parse(line) as { type: string; decision?: string; method: string; tool?: string; args_digest?: string };
      if (r.type === 'decision') tally(`decision ${r.decision}`);
      if (r.type !== 'decision' || r.decision === 'deny') continue;
      count(callKey(r.method, r.tool, r.args_digest));
      count(callKey(r.method, r.tool, ANY_DIGEST));
    }
    for (const line of received.lines()) {
      const key = receivedKey(line);
      if (key === undefined) continue;
      forwardedChecked++;
      const left = allowed.get(key) ?? 0;
      if (left > 0) allowed.set(key, left - 1);
      else found.push({ property: 'audited', detail: `the upstream received a message without a decision record: ${shown(line, 600)}` });
    }
    return found;
  };

  const failing = new Map<Property, string>();
  /** The property the current campaign shrinks for: other failures during its shrinking are not its business. */
  let focus: Property | undefined;
  const burst = fc.array(post(HUGE, MAX_BATCH), { minLength: 1, maxLength: MAX_BURST });
  const property = fc.asyncProperty(burst, async (posts) => {
    const answers = await Promise.all(posts.map(send));
    const violations = [...answers.filter((v): v is Violation => v !== undefined)];
    const served = await sync();
    if (served !== undefined) violations.push(served);
    violations.push(...(await inspect()));
    const live = violations.filter((v) => !failing.has(v.property) && (focus === undefined || v.property === focus));
    const first = live[0];
    if (first === undefined) return;
    focus = first.property;
    throw new Error(`${first.property}: ${first.detail}`);
  });

  const started = performance.now();
  for (let campaign = 0; messages < TARGET_MESSAGES; campaign++) {
    const left = FUZZ_MS - (performance.now() - started);
    if (left <= 0) break;
    focus = undefined;
    const details = await fc.check(property, { seed: SEED + campaign, numRuns: RUNS_PER_CAMPAIGN, plugins: [fc.interruptAfterTimeLimit(left)] });
    if (!details.failed || details.counterexample === null) continue;
    const reason = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    // fc.check's details are typed loosely; the property above takes one burst of posts.
    const [posts] = details.counterexample as unknown as [Post[]];
    const shrunk = posts.map(describePost).join('\n  ');
    if (focus === undefined) {
      t.fail(`the fuzz harness itself failed: ${reason}`);
      break;
    }
    const failed = focus;
    failing.set(
      failed,
      `${reason}\n  counterexample (seed ${SEED + campaign}, path "${details.counterexamplePath}"${details.interrupted ? ', shrinking cut short by the time limit' : ''}, ${details.numShrinks} shrinks):\n  ${shrunk}`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  t.comment(`${messages} messages in ${posts} POSTs in ${seconds.toFixed(1)} s (${(messages / seconds).toFixed(0)}/s); ${forwardedChecked} upstream lines checked against the audit trail; ${health.checks} health checks`);

  t.comment(`outcomes: ${[...outcomes].sort().map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  for (const p of ['answered', 'serving', 'audited', 'clean-logs'] as const) {
    const failure = failing.get(p);
    t.ok(failure === undefined, `property "${p}" holds${failure === undefined ? '' : `\n${failure}`}`);
  }
  t.same(health.failures, [], '/healthz answered 200 throughout');
  t.ok(health.checks > 0, 'health was checked');
  t.ok(messages >= TARGET_MESSAGES, `at least ${TARGET_MESSAGES} messages sent (${messages})`);

  clearInterval(healthTimer);
  await polling;
  await g.gateway.close();
  const key = parseVerificationKey(readFileSync(g.pki.serverCert, 'utf8'));
  const report = await verifyAudit(path.join(g.dir, 'audit'), { publicKey: key });
  t.equal(report.ok, true, `the audit trail verifies (${report.records} records)${report.problem === undefined ? '' : `: ${JSON.stringify(report.problem)}`}`);
});
