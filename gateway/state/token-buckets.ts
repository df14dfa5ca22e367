/**
 * Token buckets in Redis, taken atomically by a server-side script: a call
 * takes one token from every bucket that applies or from none, exactly as the
 * in-process limiter does, but one bucket is shared by every replica. Time is
 * Redis's own clock (TIME), so replicas' clocks cannot skew a bucket. A bucket
 * expires once it would be full again: forgetting it loses nothing.
 */
import { LuaScript } from './redis.js';
import type { RedisState } from './redis.js';

export interface BucketDemand {
  /** The bucket's name, unique per bucket (the limiter's key). */
  key: string;
  capacity: number;
  refillPerS: number;
}

/** Taken (all buckets gave a token) or refused by the bucket at `index` (the longest wait). */
export type BucketAnswer = { taken: true } | { taken: false; index: number; retryAfterMs: number };

/** Returns {0, 0} when every bucket gave a token, else {index (1-based), wait ms or -1 for never}. */
const TAKE = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local have = {}
local worst, worst_wait = 0, 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local refill = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = capacity
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2])) / 1000
    tokens = math.min(capacity, tonumber(state[1]) + elapsed * refill)
  end
  have[i] = tokens
  if tokens < 1 then
    local wait = -1
    if refill > 0 then wait = math.ceil((1 - tokens) / refill * 1000) end
    if worst == 0 or wait == -1 or (worst_wait ~= -1 and wait > worst_wait) then
      worst, worst_wait = i, wait
    end
  end
end
if worst > 0 then return {worst, worst_wait} end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local refill = tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', tostring(have[i] - 1), 'at', tostring(now))
  local ttl = 86400000
  if refill > 0 then ttl = math.ceil(capacity / refill * 1000) + 1000 end
  redis.call('PEXPIRE', key, ttl)
end
return {0, 0}
`);

export class RedisTokenBuckets {
  constructor(private readonly state: RedisState) {}

  /** Rejects with StateUnavailableError when Redis cannot answer. */
  async take(demands: readonly BucketDemand[]): Promise<BucketAnswer> {
    if (demands.length === 0) return { taken: true };
    const keys = demands.map((d) => this.state.key('bucket', d.key));
    const args = demands.flatMap((d) => [d.capacity, d.refillPerS]);
    const [index, wait] = (await this.state.run(TAKE, keys, args)) as [number, number];
    if (index === 0) return { taken: true };
    return { taken: false, index: index - 1, retryAfterMs: wait < 0 ? Number.POSITIVE_INFINITY : wait };
  }
}
