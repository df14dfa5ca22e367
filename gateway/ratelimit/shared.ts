/**
 * Rate limits shared by replicas: the same buckets as the in-process limiter
 * (RateRules), kept in Redis and taken atomically there. While Redis is out
 * of reach, `on_state_unavailable` decides: deny refuses every call a bucket
 * governs; local falls back to this replica's own buckets.
 */
import { StateUnavailableError } from '../state/redis.js';
import type { BucketAnswer, BucketDemand } from '../state/token-buckets.js';
import type { RateLimitConfig } from './config.js';
import { RateLimiter, RateRules } from './limiter.js';
import type { RateCall, RateChecker, RateVerdict } from './limiter.js';

/** The shared buckets (RedisTokenBuckets): narrow, so the limiter knows nothing of Redis. */
export interface SharedBuckets {
  take(demands: readonly BucketDemand[]): Promise<BucketAnswer>;
}

export class SharedRateLimiter implements RateChecker {
  readonly #rules: RateRules;
  readonly #local: RateLimiter | undefined;

  constructor(
    config: Partial<RateLimitConfig>,
    private readonly buckets: SharedBuckets,
    private readonly available: () => boolean,
  ) {
    this.#rules = new RateRules(config);
    this.#local = config.on_state_unavailable === 'local' ? new RateLimiter(config) : undefined;
  }

  /** Rejects with StateUnavailableError when Redis is out of reach and the rule is deny. */
  check(call: RateCall): RateVerdict | Promise<RateVerdict> {
    const needs = this.#rules.needs(call);
    if (needs.length === 0) return { allowed: true };
    if (!this.available()) return this.#unavailable(call, 'not connected');
    return this.buckets.take(needs.map((n) => ({ key: n.key, capacity: n.rate.capacity, refillPerS: n.rate.refillPerS }))).then(
      (answer): RateVerdict => {
        if (answer.taken) return { allowed: true };
        const need = needs[answer.index];
        if (need === undefined) throw new StateUnavailableError('unexpected bucket answer');
        return { allowed: false, scope: need.scope, bucket: need.bucket, retryAfterMs: answer.retryAfterMs };
      },
      (err: unknown) => this.#unavailable(call, err instanceof Error ? err.message : 'unknown'),
    );
  }

  #unavailable(call: RateCall, cause: string): RateVerdict {
    if (this.#local === undefined) throw new StateUnavailableError(cause);
    return this.#local.check(call);
  }
}
