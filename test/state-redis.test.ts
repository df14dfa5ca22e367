/**
 * Shared state against a real redis-server: token buckets shared by two
 * "replicas" (two connections) give out exactly their capacity between them;
 * a record changes from the state a replica saw or not at all; while Redis is
 * down a shared rate limit fails closed (deny) or falls back to local
 * buckets (local), and the client reconnects by itself; revocations on one
 * replica's files are refused by a peer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SharedRateLimiter } from '../gateway/ratelimit/shared.js';
import { RedisState, StateUnavailableError } from '../gateway/state/redis.js';
import { SharedRecords } from '../gateway/state/records.js';
import { RedisTokenBuckets } from '../gateway/state/token-buckets.js';
import { RevocationList } from '../gateway/identity/revocation.js';
import { shareRevocations } from '../gateway/identity/revocation-sharing.js';
import { initPki, issueAgent, pkiPaths, revokeIdentities } from '../gateway/pki/store.js';
import { spiffeId } from '../gateway/pki/certs.js';
import { readFileSync, copyFileSync } from 'node:fs';
import { eventually } from './fixtures/bridge-harness.js';
import { NO_REDIS, REDIS_SERVER, startRedis } from './fixtures/redis-server.js';

const skip = REDIS_SERVER === undefined ? NO_REDIS : false;
const quiet = (): void => undefined;

async function connect(t: { teardown(fn: () => unknown): void }, url: string, prefix = 'test:'): Promise<RedisState> {
  const state = await RedisState.open({ backend: 'redis', url, key_prefix: prefix }, {}, quiet);
  t.teardown(() => state.close());
  return state;
}

const agentCall = { agentId: 'spiffe://portcullis.test/agent/a', server: 'files' };

t.test('a shared bucket gives out its capacity once across replicas', { skip }, async (t) => {
  const redis = await startRedis(t);
  const replicas = await Promise.all([connect(t, redis.url), connect(t, redis.url)]);
  const limiters = replicas.map((state) => new SharedRateLimiter({ per_agent: { capacity: 7, refill_per_s: 0 }, on_state_unavailable: 'deny' }, new RedisTokenBuckets(state), () => state.available));
  // Interleaved and concurrent: the script is atomic, so no token is given twice.
  const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => limiters[i % 2]?.check(agentCall)));
  t.equal(verdicts.filter((v) => v?.allowed).length, 7, 'exactly the capacity allowed, over two replicas');
  const refused = verdicts.find((v) => v?.allowed === false);
  t.match(refused, { allowed: false, scope: 'agent', bucket: 'agent', retryAfterMs: Number.POSITIVE_INFINITY });
  const other = await limiters[1]?.check({ ...agentCall, agentId: 'spiffe://portcullis.test/agent/b' });
  t.same(other, { allowed: true }, 'another agent has its own bucket');
});

t.test('a refill is measured by the Redis clock and a refusal says when to retry', { skip }, async (t) => {
  const redis = await startRedis(t);
  const state = await connect(t, redis.url);
  const limiter = new SharedRateLimiter({ per_server: { files: { capacity: 1, refill_per_s: 0.5 } }, on_state_unavailable: 'deny' }, new RedisTokenBuckets(state), () => state.available);
  t.same(await limiter.check(agentCall), { allowed: true });
  const refused = await limiter.check(agentCall);
  t.match(refused, { allowed: false, scope: 'server', bucket: 'server' });
  t.ok(!refused.allowed && refused.retryAfterMs > 0 && refused.retryAfterMs <= 2000, 'retry within the refill time of one token');
});

t.test('records change only from the state a replica saw', { skip }, async (t) => {
  const redis = await startRedis(t);
  const [a, b] = [new SharedRecords(await connect(t, redis.url), 'holds'), new SharedRecords(await connect(t, redis.url), 'holds')];
  const seen: string[] = [];
  b.onChange((value) => seen.push((JSON.parse(value) as { state: string }).state));
  await a.put('h1', JSON.stringify({ id: 'h1', state: 'pending' }));
  const results = await Promise.all([a.transition('h1', 'pending', JSON.stringify({ id: 'h1', state: 'approved' })), b.transition('h1', 'pending', JSON.stringify({ id: 'h1', state: 'expired' }))]);
  t.equal(results.filter((r) => r.ok).length, 1, 'one replica wins');
  const lost = results.find((r) => !r.ok);
  const winner = results[0]?.ok === true ? 'approved' : 'expired';
  t.same(lost, { ok: false, current: JSON.stringify({ id: 'h1', state: winner }) }, 'the other is told what happened');
  t.same(await b.transition('nope', 'pending', '{}'), { ok: false, current: undefined }, 'an unknown record is not created');
  t.ok(await eventually(() => seen.length === 2), 'every change is announced');
  t.same(seen, ['pending', winner]);
  t.same((await b.all()).map((v) => JSON.parse(v) as unknown), [{ id: 'h1', state: winner }]);
});

t.test('Redis down: shared limits fail closed (deny) or count locally (local); reconnects with the data kept', { skip }, async (t) => {
  const redis = await startRedis(t);
  const state = await connect(t, redis.url);
  const availability: boolean[] = [];
  state.onAvailability((up) => availability.push(up));
  const rates = { per_agent: { capacity: 2, refill_per_s: 0 } };
  const deny = new SharedRateLimiter({ ...rates, on_state_unavailable: 'deny' }, new RedisTokenBuckets(state), () => state.available);
  const local = new SharedRateLimiter({ ...rates, on_state_unavailable: 'local' }, new RedisTokenBuckets(state), () => state.available);
  t.same(await deny.check(agentCall), { allowed: true }, 'one shared token taken');
  await redis.stop();
  t.ok(await eventually(() => !state.available), 'the loss is noticed');
  t.throws(() => deny.check(agentCall), StateUnavailableError, 'deny: refused while Redis is down');
  t.same(local.check(agentCall), { allowed: true }, 'local: this replica counts alone');
  t.same(local.check(agentCall), { allowed: true });
  t.match(local.check(agentCall), { allowed: false, scope: 'agent' }, "local: the replica's own bucket still limits");
  await redis.start();
  t.ok(await eventually(() => state.available, 400, 50), 'reconnected by itself (backoff)');
  t.same(availability, [false, true], 'availability reported both ways');
  t.same(await deny.check(agentCall), { allowed: true }, 'the shared bucket kept its count across the restart: one token left');
  t.match(await deny.check(agentCall), { allowed: false }, 'and no more');
});

t.test('a revocation on one replica is refused by its peer', { skip }, async (t) => {
  const redis = await startRedis(t);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-revocation-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = pkiPaths(path.join(dir, 'certs'));
  initPki(pki, 'portcullis.test');
  issueAgent(pki, 'portcullis.test', 'worker');
  const ca = readFileSync(pki.caCert, 'utf8');
  const cert = readFileSync(pki.serverCert, 'utf8');
  const key = readFileSync(pki.serverKey, 'utf8');
  // Each replica has its own copy of the lists, as on separate machines.
  const lists = ['a', 'b'].map((name) => {
    const crl = path.join(dir, `${name}-crl.pem`);
    const identities = path.join(dir, `${name}-revoked.json`);
    copyFileSync(pki.crl, crl);
    copyFileSync(pki.revokedIdentities, identities);
    const list = new RevocationList({ crl: { file: crl, caCertPem: ca }, identities: { file: identities, signerCertPem: cert } });
    list.watch();
    t.teardown(() => list.close());
    return { list, identities };
  });
  const [a, b] = lists as [(typeof lists)[0], (typeof lists)[0]];
  const states = [await connect(t, redis.url), await connect(t, redis.url)];
  const stops = [shareRevocations(a.list, new SharedRecords(states[0] as RedisState, 'revocations'), 'a', quiet), shareRevocations(b.list, new SharedRecords(states[1] as RedisState, 'revocations'), 'b', quiet)];
  t.teardown(() => stops.forEach((stop) => stop()));
  const worker = { id: spiffeId('portcullis.test', 'worker'), name: 'worker', auth: 'jwt' as const, roles: [] };
  t.equal(b.list.refusal(worker), undefined, 'not revoked yet');
  let changes = 0;
  b.list.onChange(() => changes++);
  revokeIdentities({ file: a.identities, keyPem: key, certPem: cert }, { ids: [worker.id] });
  t.ok(await eventually(() => b.list.refusal(worker) !== undefined, 100, 20), 'the peer refuses the identity');
  t.equal(b.list.refusal(worker), 'identity revoked');
  t.ok(changes > 0, "the peer's listeners (which close open connections) are told");
  t.throws(() => b.list.adoptPeer('identities', readFileSync(a.identities, 'utf8').replace('worker', 'other')), 'a list that does not verify is not adopted');
});
