/** A token bucket's parameters: at most `capacity` tokens, refilled continuously. */
export interface BucketRate {
  capacity: number;
  refillPerS: number;
}

/** Mutable state of one bucket; `at` is the monotonic time (ms) of the last refill. */
export interface BucketState {
  tokens: number;
  at: number;
}

export function fullBucket(rate: BucketRate, now: number): BucketState {
  return { tokens: rate.capacity, at: now };
}

/** Tokens available at `now` (never above capacity). Does not mutate. */
export function tokensAt(state: BucketState, rate: BucketRate, now: number): number {
  const elapsedS = Math.max(0, now - state.at) / 1000;
  return Math.min(rate.capacity, state.tokens + elapsedS * rate.refillPerS);
}

/**
 * Milliseconds until one token is available, 0 when one is available now.
 * A bucket that never refills and is empty never recovers: Infinity.
 */
export function msUntilToken(state: BucketState, rate: BucketRate, now: number): number {
  const missing = 1 - tokensAt(state, rate, now);
  if (missing <= 0) return 0;
  if (rate.refillPerS <= 0) return Number.POSITIVE_INFINITY;
  return Math.ceil((missing / rate.refillPerS) * 1000);
}

/** Removes one token; call only after msUntilToken returned 0. */
export function takeToken(state: BucketState, rate: BucketRate, now: number): void {
  state.tokens = tokensAt(state, rate, now) - 1;
  state.at = now;
}

/** True when the bucket, left alone, is already full again: forgetting it loses nothing. */
export function isRefilled(state: BucketState, rate: BucketRate, now: number): boolean {
  return tokensAt(state, rate, now) >= rate.capacity;
}
