/**
 * Revocation reaches what is already open: a revoked client certificate is
 * refused on its keep-alive connection and its event stream is closed within
 * a second, without a restart; revoking an agent (`certs revoke <agent>`,
 * `token revoke <agent>`) refuses its bearer tokens too, and `token revoke
 * <jti>` refuses one token while the agent's other tokens keep working.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { run as certs } from '../gateway/cli/certs.js';
import { run as token } from '../gateway/cli/token.js';
import { issueToken } from '../gateway/identity/jwt.js';
import { revoke } from '../gateway/pki/store.js';
import { EVERYTHING, startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import type { TestGateway } from './fixtures/gateway-harness.js';

const UPSTREAMS = { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } };
const JSON_AND_SSE = 'application/json, text/event-stream';
const PROTOCOL = '2025-06-18';
/** How soon a revocation must reach open connections and sessions. */
const WITHIN_MS = 1000;

interface Caller {
  dispatcher: Agent;
  url: string;
  authorization?: string;
}

function headersOf(caller: Caller, extra: Record<string, string>): Record<string, string> {
  return { ...extra, ...(caller.authorization === undefined ? {} : { authorization: caller.authorization }) };
}

/** One JSON-RPC POST; the status, the session id and the body text. */
async function post(caller: Caller, message: object, session?: string): Promise<{ status: number; session: string | undefined; text: string }> {
  const res = await request(caller.url, {
    method: 'POST',
    dispatcher: caller.dispatcher,
    headers: headersOf(caller, {
      'content-type': 'application/json',
      accept: JSON_AND_SSE,
      ...(session === undefined ? {} : { 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL }),
    }),
    body: JSON.stringify(message),
  });
  const id = res.headers['mcp-session-id'];
  return { status: res.statusCode, session: typeof id === 'string' ? id : undefined, text: await res.body.text() };
}

/** initialize + notifications/initialized: the new session's id. */
async function openSession(t: Test, caller: Caller): Promise<string> {
  const init = await post(caller, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  t.equal(init.status, 200, 'initialize served');
  const session = init.session ?? '';
  t.equal((await post(caller, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status, 202);
  return session;
}

const echo = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'still here?' } } });

/** The session's GET event stream; `ended` settles when the gateway closes it. */
async function openStream(caller: Caller, session: string): Promise<{ status: number; ended: Promise<void> }> {
  const res = await request(caller.url, {
    method: 'GET',
    dispatcher: caller.dispatcher,
    headers: headersOf(caller, { accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL }),
  });
  const ended = (async () => {
    try {
      for await (const chunk of res.body) void chunk;
    } catch {
      // A destroyed connection ends the stream with an error: closed all the same.
    }
  })();
  return { status: res.statusCode, ended };
}

/** Whether `done` settles within `ms` (a bound, not a synchronisation sleep). */
async function settlesWithin(done: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([done.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Repeats `call` (each on the caller's open connection while it lasts) until
 * it is refused: an HTTP status other than 200/202, or a closed connection
 * (the gateway closes connections whose credentials it revoked).
 * Returns how it was refused and how long it took, or undefined when it
 * was still served after `ms`.
 */
async function refusedWithin(ms: number, call: () => Promise<number>): Promise<{ how: string; afterMs: number } | undefined> {
  const started = Date.now();
  for (let attempt = 0; attempt < 200 && Date.now() - started < ms; attempt++) {
    let how: string | undefined;
    try {
      const status = await call();
      if (status !== 200 && status !== 202) how = `HTTP ${status}`;
    } catch (err) {
      how = `connection closed (${err instanceof Error ? err.message : 'error'})`;
    }
    if (how !== undefined) return { how, afterMs: Date.now() - started };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

/** A portcullis.yaml for the CLI commands, naming the test gateway's PKI. */
function cliConfig(g: TestGateway): string[] {
  const file = path.join(g.dir, 'portcullis.yaml');
  writeFileSync(file, `tls: { dir: certs, trust_domain: ${TRUST_DOMAIN} }\nlisten: { auth: ${g.config.listen.auth} }\n`);
  return ['--config', file];
}

/** Runs a CLI command with its output captured (and dropped). */
async function quietly(run: (args: string[]) => Promise<number>, args: string[]): Promise<number> {
  const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await run(args);
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

function jtiOf(jwt: string): unknown {
  const payload = jwt.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { jti?: unknown }).jti;
}

t.test('mTLS: a revoked certificate loses its open connection and its event stream', async (t) => {
  const g = await startTestGateway(t, { upstreams: UPSTREAMS });
  const url = `${g.gateway.url}/mcp/everything`;
  const agent = (tls: { cert: string; key: string }): Caller => {
    const dispatcher = new Agent({ connect: { ca: g.ca, ...tls } });
    t.teardown(() => dispatcher.destroy());
    return { dispatcher, url };
  };
  const revoked = agent(g.issue('reporter-2'));
  const bystander = agent(g.issue('demo'));

  const session = await openSession(t, revoked);
  const stream = await openStream(revoked, session);
  t.equal(stream.status, 200, 'event stream open');
  t.equal((await post(revoked, echo(1), session)).status, 200, 'a call on the keep-alive connection is served');
  const other = await openSession(t, bystander);

  revoke(g.pki, 'reporter-2');
  const refusal = await refusedWithin(WITHIN_MS, async () => (await post(revoked, echo(2), session)).status);
  t.ok(refusal, `the next call on the open connection is refused within ${WITHIN_MS} ms`);
  t.comment(`refused by ${refusal?.how ?? 'nothing'} after ${refusal?.afterMs ?? '-'} ms`);
  t.ok(await settlesWithin(stream.ended, WITHIN_MS), 'the open event stream is closed');
  t.equal((await post(bystander, echo(3), other)).status, 200, 'another agent keeps its connection and session');
});

t.test('JWT: revoking an agent or a token id refuses bearer tokens at once', async (t) => {
  const g = await startTestGateway(t, {
    listen: { auth: 'jwt' },
    upstreams: UPSTREAMS,
  });
  const config = cliConfig(g);
  const serverKey = readFileSync(g.pki.serverKey, 'utf8');
  const dispatcher = new Agent({ connect: { ca: g.ca } });
  t.teardown(() => dispatcher.destroy());
  const url = `${g.gateway.url}/mcp/everything`;
  const bearer = async (agent: string): Promise<{ jwt: string; caller: Caller }> => {
    const jwt = await issueToken(serverKey, g.config.jwt, TRUST_DOMAIN, agent, 600);
    return { jwt, caller: { dispatcher, url, authorization: `Bearer ${jwt}` } };
  };
  const status = (caller: Caller) => async () => (await post(caller, { jsonrpc: '2.0', id: 9, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })).status;

  await t.test('certs revoke <agent> refuses the tokens of that agent too', async (t) => {
    g.issue('reporter-2');
    const { caller } = await bearer('reporter-2');
    t.equal(await status(caller)(), 200, 'served before');
    t.equal(await quietly(certs, ['revoke', 'reporter-2', ...config]), 0);
    t.ok(await refusedWithin(WITHIN_MS, status(caller)), 'refused within a second');
    t.equal(await status(caller)(), 401, 'token of the revoked agent answers 401');
  });

  await t.test('token revoke <jti> refuses that token only, and closes its session', async (t) => {
    const first = await bearer('demo');
    const second = await bearer('demo');
    const jti = jtiOf(first.jwt);
    t.type(jti, 'string', 'tokens carry a jti');
    t.not(jti, jtiOf(second.jwt), 'each token its own jti');
    const session = await openSession(t, first.caller);
    const stream = await openStream(first.caller, session);
    t.equal(stream.status, 200, 'event stream open with the first token');
    t.equal(await quietly(token, ['revoke', String(jti), ...config]), 0);
    t.ok(await refusedWithin(WITHIN_MS, status(first.caller)), 'the revoked token is refused within a second');
    t.equal(await status(first.caller)(), 401, 'it answers 401');
    t.ok(await settlesWithin(stream.ended, WITHIN_MS), 'its event stream is closed');
    t.equal(await status(second.caller)(), 200, 'another token of the same agent still works');
  });

  await t.test('token revoke <agent> refuses all its tokens', async (t) => {
    const tokens = [await bearer('reporter-1'), await bearer('reporter-1')];
    for (const { caller } of tokens) t.equal(await status(caller)(), 200, 'served before');
    t.equal(await quietly(token, ['revoke', 'reporter-1', ...config]), 0);
    for (const { caller } of tokens) {
      t.ok(await refusedWithin(WITHIN_MS, status(caller)), 'refused within a second');
      t.equal(await status(caller)(), 401, 'answers 401');
    }
    const fresh = await bearer('reporter-1');
    t.equal(await status(fresh.caller)(), 401, 'a token issued after the revocation is refused too');
  });
});
