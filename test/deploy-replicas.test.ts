/**
 * Three gateway processes sharing state through a real redis-server, behind
 * a real HAProxy in TCP mode (TLS passes through to the replicas), as
 * deploy/haproxy/haproxy.cfg configures it: connections stick to a replica
 * by source address. Checked: stickiness (and why it is needed: a session
 * lives on its replica), a per-agent rate limit across replicas, a hold made
 * on one replica approved through another's admin API, a hold kept across a
 * Redis restart (and calls refused while Redis is down), a revocation on one
 * replica refusing the agent on all (the time it took is reported, not
 * asserted), and a killed replica's audit chain complete and verifiable.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { auditFilesOf, parseLine, readLines } from '../gateway/audit/read.js';
import { verifyAudit } from '../gateway/audit/verify.js';
import { createAdminCert, spiffeId } from '../gateway/pki/certs.js';
import { initPki, issueAgent, pkiPaths, revokeIdentities } from '../gateway/pki/store.js';
import { CSRF_HEADER } from '../gateway/edge/admin-holds.js';
import { cliCommand, eventually, freePort } from './fixtures/bridge-harness.js';
import { ENFORCE_POLICY } from './fixtures/enforce-gateway.js';
import { EVERYTHING, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from './fixtures/gateway-process.js';
import { HAPROXY, NO_HAPROXY, startHaproxy } from './fixtures/haproxy.js';
import { NO_REDIS, REDIS_SERVER, startRedis } from './fixtures/redis-server.js';

const skip = REDIS_SERVER === undefined ? NO_REDIS : HAPROXY === undefined ? NO_HAPROXY : false;
/** Calls each agent may make in all, whichever replica it reaches (rate_limits.per_agent, no refill). */
const LIMIT = 5;

// Three gateways, Redis and HAProxy on a 2-core machine: more than the default per-file time.
t.setTimeout(900_000);

interface Identity {
  ca: string;
  cert: string;
  key: string;
}

/** Parsed JSON of whatever shape a replica answered; the tests assert on it. */
type Json = any;

/** One POST on a connection of its own (a new TCP connection each time, optionally from another loopback source). */
async function post(url: string, who: Identity, body: unknown, headers: Record<string, string> = {}, localAddress?: string): Promise<{ status: number; headers: Record<string, unknown>; body: Json }> {
  const agent = new Agent({ connect: who, ...(localAddress === undefined ? {} : { localAddress }) });
  try {
    const res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    // An event-stream answer carries the JSON-RPC answer on its last data line.
    const json = String(res.headers['content-type']).startsWith('text/event-stream') ? text.split('\n').filter((l) => l.startsWith('data: ')).at(-1)?.slice(6) : text;
    return { status: res.statusCode, headers: res.headers, body: json === undefined || json === '' ? undefined : JSON.parse(json) };
  } finally {
    await agent.close();
  }
}

async function get(url: string, who: Identity, localAddress?: string): Promise<{ status: number; body: Json }> {
  const agent = new Agent({ connect: who, ...(localAddress === undefined ? {} : { localAddress }) });
  try {
    const res = await request(url, { dispatcher: agent, headers: { [CSRF_HEADER]: '1' } });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) };
  } finally {
    await agent.close();
  }
}

/** An MCP session on `base` (a replica or the balancer): initialize, then tools/call on fresh connections. */
async function session(base: string, who: Identity, localAddress?: string) {
  const url = `${base}/mcp/everything`;
  const init = await post(url, who, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'replicas', version: '1' } } }, {}, localAddress);
  const id = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof id !== 'string') throw new Error(`initialize through ${base}: ${init.status} ${JSON.stringify(init.body)}`);
  let next = 1;
  return {
    id,
    call: (name: string, args: Record<string, unknown>) => post(url, who, { jsonrpc: '2.0', id: next++, method: 'tools/call', params: { name, arguments: args } }, { 'mcp-session-id': id }, localAddress),
  };
}

t.test('three replicas behind HAProxy share state through Redis', { skip }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-replicas-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = pkiPaths(path.join(dir, 'pki'));
  initPki(pki, TRUST_DOMAIN);
  const ca = readFileSync(pki.caCert, 'utf8');
  const serverKey = readFileSync(pki.serverKey, 'utf8');
  const serverCert = readFileSync(pki.serverCert, 'utf8');
  const identity = (agent: string): Identity => {
    const files = issueAgent(pki, TRUST_DOMAIN, agent);
    return { ca, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
  };
  const adminPair = createAdminCert({ certPem: ca, keyPem: readFileSync(pki.caKey, 'utf8') }, TRUST_DOMAIN, 'alice');
  const alice: Identity = { ca, cert: adminPair.certPem, key: adminPair.keyPem };
  const policyDir = path.join(dir, 'policy');
  mkdirSync(policyDir);
  writeFileSync(path.join(policyDir, 'decision.rego'), ENFORCE_POLICY);

  const redis = await startRedis(t);
  // Clients name the balancer: its address is a Host every replica accepts (listen.allowed_hosts).
  const balancerPort = await freePort();
  const replicaDirs = [0, 1, 2].map((i) => path.join(dir, `r${i}`));
  const replicas: GatewayProcess[] = await Promise.all(
    replicaDirs.map(async (home, i) => {
      mkdirSync(home);
      // Each replica reads lists of its own (as on its own machine); the CA and server certificate are shared.
      copyFileSync(pki.crl, path.join(home, 'crl.pem'));
      copyFileSync(pki.revokedIdentities, path.join(home, 'revoked.json'));
      const config = {
        listen: { host: '127.0.0.1', port: 0, allowed_hosts: [`127.0.0.1:${balancerPort}`] },
        tls: { trust_domain: TRUST_DOMAIN, ca: pki.caCert, cert: pki.serverCert, key: pki.serverKey, crl: 'crl.pem', revoked_identities: 'revoked.json' },
        state: { backend: 'redis', url: redis.url, key_prefix: 'replicas:', replica_id: `r${i}` },
        rate_limits: { per_agent: { capacity: LIMIT, refill_per_s: 0 }, on_state_unavailable: 'deny' },
        policy: { dir: policyDir },
        upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } },
        holds: { file: 'holds.jsonl', approvers: { alice: { roles: ['approver'] } } },
        audit: { dir: 'audit' },
        metrics: { listen: { host: '127.0.0.1', port: 0 } },
        log: { level: 'warn' },
      };
      writeFileSync(path.join(home, 'portcullis.yaml'), stringify(config));
      const cli = cliCommand(['start', '--config', path.join(home, 'portcullis.yaml')]);
      return startGatewayProcess(t, { command: cli.command, args: cli.args, cwd: home, env: cli.env });
    }),
  );
  const [a, b, c] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess];
  await startHaproxy(t, balancerPort, replicas.map((r) => r.port));
  const front = `https://127.0.0.1:${balancerPort}`;
  const sticky = identity('sticky');
  const replicaOf = async (base: string, localAddress?: string): Promise<string> => (await get(`${base}/readyz`, sticky, localAddress)).body?.replica as string;
  t.ok(await eventually(async () => (await get(`${front}/readyz`, sticky).catch(() => ({ status: 0 }))).status === 200, 200, 50), 'the balancer reaches a ready replica');

  t.test('connections stick to a replica by source address, so a session keeps working', async (t) => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) seen.add(await replicaOf(front));
    t.equal(seen.size, 1, `five connections from 127.0.0.1 all reach ${[...seen].join()}`);
    const s = await session(front, sticky);
    for (let i = 0; i < 3; i++) {
      const answer = await s.call('echo', { message: `through the balancer ${i}` });
      t.equal(answer.body?.result?.content?.[0]?.text, `Echo: through the balancer ${i}`, `call ${i} on a new connection reaches the session's replica`);
    }
    // Why it must stick: a session lives on the replica that opened it.
    const home = [...seen][0];
    const other = replicas.find((r, i) => `r${i}` !== home) as GatewayProcess;
    const elsewhere = await post(`${other.url}/mcp/everything`, sticky, { jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } }, { 'mcp-session-id': s.id });
    t.equal(elsewhere.status, 404, 'another replica does not know the session');
    // Until HAProxy's health checks have seen every replica up, it may send all sources to fewer.
    const spread = new Set<string>();
    await eventually(async () => {
      for (let host = 1; host <= 12; host++) spread.add(await replicaOf(front, `127.0.0.${host}`));
      return spread.size === 3;
    }, 40, 250);
    t.ok(spread.size >= 2, `other sources are spread over the replicas (${[...spread].sort().join(', ')})`);
  });

  t.test(`a per-agent rate limit of ${LIMIT} holds across replicas`, async (t) => {
    const worker = identity('worker');
    const sessions = await Promise.all(replicas.map((r) => session(r.url, worker)));
    const answers = [];
    for (let i = 0; i < LIMIT * 2; i++) answers.push(await (sessions[i % 3] as Awaited<ReturnType<typeof session>>).call('echo', { message: `n${i}` }));
    const allowed = answers.filter((answer) => answer.body?.result !== undefined);
    const limited = answers.filter((answer) => answer.body?.error?.code === -32030);
    // The buckets are taken atomically in Redis: no skew between replicas at all.
    t.equal(allowed.length, LIMIT, `exactly ${LIMIT} calls allowed over three replicas (skew allowed: 0)`);
    t.equal(limited.length, LIMIT, 'the rest refused as rate limited');
    t.same(answers.map((answer) => answer.body?.result !== undefined), [...Array(LIMIT).fill(true), ...Array(LIMIT).fill(false)], 'the first ones allowed, whichever replica they reached');
  });

  t.test('a hold made on replica A is approved through replica B, and the call on A proceeds', async (t) => {
    const holder = identity('holder');
    const s = await session(a.url, holder);
    const waiting = s.call('get-sum', { a: 20, b: 22 });
    let pending: { id: string; digest: string } | undefined;
    t.ok(
      await eventually(async () => {
        pending = (await get(`${b.url}/admin/holds?pending=true`, alice)).body?.holds?.find((h: { agent_id: string }) => h.agent_id === spiffeId(TRUST_DOMAIN, 'holder'));
        return pending !== undefined;
      }),
      "B's admin API lists A's hold",
    );
    if (pending === undefined) return;
    const approved = await post(`${b.url}/admin/holds/${pending.id}/approve`, alice, { digest: pending.digest }, { [CSRF_HEADER]: '1' });
    t.equal(approved.status, 200, 'approved through B');
    t.equal(approved.body?.hold?.state, 'approved');
    const answer = await waiting;
    t.match(answer.body?.result?.content?.[0]?.text, /42/, 'the call waiting on A went through with the approval');
    const again = await post(`${c.url}/admin/holds/${pending.id}/approve`, alice, { digest: pending.digest }, { [CSRF_HEADER]: '1' });
    t.equal(again.status, 409, 'a second approval through C is refused: decided once');
  });

  t.test('Redis down: held calls refused, readiness and metrics say so; a hold survives the restart', async (t) => {
    const holder = identity('holder2');
    const s = await session(a.url, holder);
    const waiting = s.call('get-sum', { a: 1, b: 2 });
    let pending: { id: string; digest: string } | undefined;
    await eventually(async () => {
      pending = (await get(`${b.url}/admin/holds?pending=true`, alice)).body?.holds?.find((h: { agent_id: string }) => h.agent_id === spiffeId(TRUST_DOMAIN, 'holder2'));
      return pending !== undefined;
    });
    t.ok(pending, 'the hold is shared');
    await redis.stop();
    t.ok(await eventually(async () => (await get(`${b.url}/readyz`, sticky)).status === 503), 'B is not ready while Redis is down');
    t.match((await get(`${b.url}/readyz`, sticky)).body, { ready: false, replica: 'r1', state: { backend: 'redis', available: false } });
    if (b.metricsUrl !== undefined) t.match(await (await request(b.metricsUrl)).body.text(), /portcullis_state_available 0/, 'the metric says so');
    const refused = await (await session(b.url, identity('holder3'))).call('get-sum', { a: 3, b: 4 });
    t.equal(refused.body?.error?.code, -32041, 'a new held call is refused: shared state unavailable');
    await redis.start();
    // Each replica reconnects on its own backoff (at most 5 s apart).
    const ready = async (): Promise<boolean> => (await Promise.all(replicas.map(async (r) => (await get(`${r.url}/readyz`, sticky)).status))).every((status) => status === 200);
    t.ok(await eventually(ready, 400, 50), 'every replica ready again after Redis is back');
    if (pending === undefined) return;
    const approved = await post(`${c.url}/admin/holds/${pending.id}/approve`, alice, { digest: pending.digest }, { [CSRF_HEADER]: '1' });
    t.equal(approved.status, 200, 'the hold made before the restart is approved through C after it');
    t.match((await waiting).body?.result?.content?.[0]?.text, /3/, 'and the call waiting on A proceeds');
  });

  t.test('a revocation on one replica refuses the agent on all', async (t) => {
    const victim = identity('victim');
    for (const r of replicas) t.equal((await (await session(r.url, victim)).call('echo', { message: 'before' })).body?.result?.content?.[0]?.text, 'Echo: before');
    const started = performance.now();
    // What `portcullis token revoke` / `certs revoke` do to replica A's own list.
    revokeIdentities({ file: path.join(replicaDirs[0] as string, 'revoked.json'), keyPem: serverKey, certPem: serverCert }, { ids: [spiffeId(TRUST_DOMAIN, 'victim')] });
    const refusedAfter: Record<string, number> = {};
    await eventually(
      async () => {
        for (const [i, r] of replicas.entries()) {
          if (refusedAfter[`r${i}`] !== undefined) continue;
          const status = (await get(`${r.url}/readyz`, victim)).status;
          if (status === 401) refusedAfter[`r${i}`] = Math.round(performance.now() - started);
        }
        return Object.keys(refusedAfter).length === 3;
      },
      200,
      10,
    );
    t.same(Object.keys(refusedAfter).sort(), ['r0', 'r1', 'r2'], 'every replica refuses the revoked agent');
    t.comment(`revocation refused after (ms, observed, not asserted): ${JSON.stringify(refusedAfter)}`);
  });

  t.test('a killed replica loses no audit record; each chain is stamped with its replica and verifies', async (t) => {
    const auditor = identity('auditor');
    const s = await session(c.url, auditor);
    const answered = 3;
    for (let i = 0; i < answered; i++) t.equal((await s.call('echo', { message: `audited ${i}` })).body?.result?.content?.[0]?.text, `Echo: audited ${i}`);
    await c.stop('SIGKILL');
    for (const [i, home] of replicaDirs.entries()) {
      const report = await verifyAudit(path.join(home, 'audit'));
      t.ok(report.ok, `r${i}: the chain verifies${report.problem === undefined ? '' : `: ${report.problem.message}`}`);
      const records: Json[] = [];
      for (const file of await auditFilesOf(path.join(home, 'audit'))) for (const line of (await readLines(file)).lines) records.push(parseLine(line) as Json);
      const stamps = records.filter((r) => r?.type === 'event' && r.control === 'replica').map((r) => r.details?.replica);
      t.same(stamps, [`r${i}`], `r${i}: stamped with its replica id`);
      if (i !== 2) continue;
      const mine = records.filter((r) => r?.agent?.id === spiffeId(TRUST_DOMAIN, 'auditor') && r.method === 'tools/call');
      t.equal(mine.filter((r) => r.type === 'decision').length, answered, 'every answered call has its decision record');
      t.equal(mine.filter((r) => r.type === 'outcome').length, answered, 'and its outcome record');
    }
  });
});
