import type { RateLimitConfig, RateSpec } from './config.js';
import { DEFAULT_MAX_BUCKETS } from './config.js';
import {
  type BucketRate,
  type BucketState,
  fullBucket,
  isRefilled,
  msUntilToken,
  takeToken,
} from './token-bucket.js';

/** Which bucket refused a call; bounded set, safe as a metric label. */
export type RateScope = 'agent' | 'agent_tool' | 'server';

export interface RateCall {
  agentId: string;
  server: string;
  tool?: string;
  /** The decision's rate class, if the policy gave one. */
  rate?: { bucket: string; capacity: number; refill_per_s: number };
}

export type RateVerdict =
  | { allowed: true }
  | { allowed: false; scope: RateScope; bucket: string; retryAfterMs: number };

interface Entry {
  state: BucketState;
  rate: BucketRate;
}

/** One bucket a call must take a token from. */
export interface Need {
  key: string;
  scope: RateScope;
  bucket: string;
  rate: BucketRate;
}

function toRate(spec: RateSpec): BucketRate {
  return { capacity: spec.capacity, refillPerS: spec.refill_per_s };
}

/** Which buckets apply to a call: per agent, the decision's rate class per agent and tool, per server. */
export class RateRules {
  readonly #perAgent: BucketRate | undefined;
  readonly #perServer: ReadonlyMap<string, BucketRate>;

  constructor(config: Partial<RateLimitConfig>) {
    this.#perAgent = config.per_agent ? toRate(config.per_agent) : undefined;
    this.#perServer = new Map(Object.entries(config.per_server ?? {}).map(([k, v]) => [k, toRate(v)]));
  }

  needs(call: RateCall): Need[] {
    const needs: Need[] = [];
    if (this.#perAgent) {
      needs.push({ key: JSON.stringify(['a', call.agentId]), scope: 'agent', bucket: 'agent', rate: this.#perAgent });
    }
    if (call.rate) {
      const { bucket, capacity, refill_per_s } = call.rate;
      needs.push({
        key: JSON.stringify(['t', call.agentId, bucket, call.server, call.tool ?? '']),
        scope: 'agent_tool',
        bucket,
        rate: { capacity, refillPerS: refill_per_s },
      });
    }
    const serverRate = this.#perServer.get(call.server);
    if (serverRate) {
      needs.push({ key: JSON.stringify(['s', call.server]), scope: 'server', bucket: 'server', rate: serverRate });
    }
    return needs;
  }
}

/** What the rate-limit stage asks: this process's buckets answer at once, shared ones (Redis) asynchronously. */
export interface RateChecker {
  check(call: RateCall): RateVerdict | Promise<RateVerdict>;
}

/**
 * Token buckets per agent, per agent+tool (the decision's rate class) and per
 * server. A call takes one token from every bucket that applies, or from none:
 * a refused call does not drain the buckets that would have allowed it.
 * Memory is bounded by `max_buckets` (least recently used first out).
 */
export class RateLimiter implements RateChecker {
  readonly #buckets = new Map<string, Entry>();
  readonly #max: number;
  readonly #rules: RateRules;
  readonly #now: () => number;

  constructor(config: Partial<RateLimitConfig> = {}, now: () => number = () => performance.now()) {
    this.#max = config.max_buckets ?? DEFAULT_MAX_BUCKETS;
    this.#rules = new RateRules(config);
    this.#now = now;
  }

  get size(): number {
    return this.#buckets.size;
  }

  check(call: RateCall): RateVerdict {
    const now = this.#now();
    const held = this.#rules.needs(call).map((need) => ({ need, entry: this.#entry(need, now) }));
    let worst: (Need & { wait: number }) | undefined;
    for (const { need, entry } of held) {
      const wait = msUntilToken(entry.state, need.rate, now);
      if (wait > 0 && (!worst || wait > worst.wait)) worst = { ...need, wait };
    }
    if (worst) {
      return { allowed: false, scope: worst.scope, bucket: worst.bucket, retryAfterMs: worst.wait };
    }
    for (const { need, entry } of held) takeToken(entry.state, need.rate, now);
    return { allowed: true };
  }

  /** Finds or creates the bucket and marks it most recently used. */
  #entry(need: Need, now: number): Entry {
    let entry = this.#buckets.get(need.key);
    if (entry) {
      this.#buckets.delete(need.key);
      // The policy may change a class's parameters between revisions.
      entry.rate = need.rate;
      entry.state.tokens = Math.min(entry.state.tokens, need.rate.capacity);
    } else {
      entry = { state: fullBucket(need.rate, now), rate: need.rate };
      this.#evictFor(now);
    }
    this.#buckets.set(need.key, entry);
    return entry;
  }

  /** Makes room for one bucket: drops refilled buckets first (lossless), then the least recently used. */
  #evictFor(now: number): void {
    if (this.#buckets.size < this.#max) return;
    let scanned = 0;
    for (const [key, entry] of this.#buckets) {
      if (scanned++ >= 64) break;
      if (isRefilled(entry.state, entry.rate, now)) {
        this.#buckets.delete(key);
        return;
      }
    }
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}
