import t from 'tap';
import { RateLimiter } from '../gateway/ratelimit/limiter.js';

/** A clock the test advances by hand, so refill timing is exact and no sleeps are needed. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000;
  return { now: () => at, advance: (ms) => { at += ms; } };
}

const rate = { bucket: 'writes', capacity: 2, refill_per_s: 1 };

t.test('decision rate class: capacity then refusal with the exact wait', async (t) => {
  const clock = manualClock();
  const limiter = new RateLimiter({}, clock.now);
  const call = { agentId: 'spiffe://x/agent/a', server: 'fs', tool: 'write_file', rate };
  t.same(limiter.check(call), { allowed: true });
  t.same(limiter.check(call), { allowed: true });
  t.same(limiter.check(call), { allowed: false, scope: 'agent_tool', bucket: 'writes', retryAfterMs: 1000 });
  clock.advance(400);
  t.same(limiter.check(call), { allowed: false, scope: 'agent_tool', bucket: 'writes', retryAfterMs: 600 });
  clock.advance(600);
  t.same(limiter.check(call), { allowed: true });
  // Another agent, or the same agent on another tool, has its own bucket.
  t.same(limiter.check({ ...call, agentId: 'spiffe://x/agent/b' }), { allowed: true });
  t.same(limiter.check({ ...call, tool: 'read_file' }), { allowed: true });
});

t.test('no rate class and no configured limits: never limited, no bucket kept', async (t) => {
  const limiter = new RateLimiter({}, manualClock().now);
  for (let i = 0; i < 50; i++) t.equal(limiter.check({ agentId: 'a', server: 's', tool: 'x' }).allowed, true);
  t.equal(limiter.size, 0);
});

t.test('per-agent and per-server buckets; a refusal drains no other bucket', async (t) => {
  const clock = manualClock();
  const limiter = new RateLimiter(
    { per_agent: { capacity: 3, refill_per_s: 1 }, per_server: { fs: { capacity: 1, refill_per_s: 0.5 } } },
    clock.now,
  );
  t.same(limiter.check({ agentId: 'a', server: 'fs', tool: 't' }), { allowed: true });
  // The server bucket (shared by all agents) is empty now: agent b is refused too.
  t.same(limiter.check({ agentId: 'b', server: 'fs', tool: 't' }), {
    allowed: false, scope: 'server', bucket: 'server', retryAfterMs: 2000,
  });
  // Agent a still has 2 per-agent tokens for other servers: the server refusal took none.
  t.same(limiter.check({ agentId: 'a', server: 'other' }), { allowed: true });
  t.same(limiter.check({ agentId: 'a', server: 'other' }), { allowed: true });
  t.same(limiter.check({ agentId: 'a', server: 'other' }), {
    allowed: false, scope: 'agent', bucket: 'agent', retryAfterMs: 1000,
  });
});

t.test('the longest wait among refusing buckets is reported', async (t) => {
  const clock = manualClock();
  const limiter = new RateLimiter({ per_agent: { capacity: 1, refill_per_s: 1 } }, clock.now);
  const call = { agentId: 'a', server: 's', tool: 't', rate: { bucket: 'slow', capacity: 1, refill_per_s: 0.1 } };
  t.equal(limiter.check(call).allowed, true);
  t.same(limiter.check(call), { allowed: false, scope: 'agent_tool', bucket: 'slow', retryAfterMs: 10_000 });
});

t.test('a class that never refills reports an infinite wait', async (t) => {
  const limiter = new RateLimiter({}, manualClock().now);
  const call = { agentId: 'a', server: 's', tool: 't', rate: { bucket: 'once', capacity: 1, refill_per_s: 0 } };
  t.equal(limiter.check(call).allowed, true);
  const verdict = limiter.check(call);
  t.equal(verdict.allowed, false);
  if (!verdict.allowed) t.equal(verdict.retryAfterMs, Number.POSITIVE_INFINITY);
});

t.test('memory stays bounded: least recently used buckets go first', async (t) => {
  const clock = manualClock();
  const limiter = new RateLimiter({ max_buckets: 16 }, clock.now);
  const drained = { agentId: 'hot', server: 's', tool: 't', rate: { bucket: 'c', capacity: 1, refill_per_s: 0.001 } };
  t.equal(limiter.check(drained).allowed, true);
  for (let i = 0; i < 1000; i++) {
    limiter.check({ ...drained, agentId: `agent-${i}` });
    // Keep the drained bucket recently used: it must survive the flood.
    if (i % 8 === 0) t.equal(limiter.check(drained).allowed, false);
    t.ok(limiter.size <= 16);
  }
  t.equal(limiter.size, 16);
});

t.test('a changed capacity for the same class applies at once', async (t) => {
  const clock = manualClock();
  const limiter = new RateLimiter({}, clock.now);
  const call = { agentId: 'a', server: 's', tool: 't', rate: { bucket: 'c', capacity: 10, refill_per_s: 1 } };
  t.equal(limiter.check(call).allowed, true);
  const tightened = { ...call, rate: { ...call.rate, capacity: 1 } };
  t.equal(limiter.check(tightened).allowed, true);
  t.equal(limiter.check(tightened).allowed, false);
});
