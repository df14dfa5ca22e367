/**
 * A circuit breaker per provider: after `failures` consecutive failed
 * requests the provider is skipped for `cooldownMs`; then one request is let
 * through (half-open), and its outcome closes or reopens the circuit.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private openUntil = 0;

  constructor(
    private readonly failures: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a request may go to the provider now. */
  get allows(): boolean {
    return this.now() >= this.openUntil;
  }

  /** When the circuit lets a request through again (ms since the epoch), if open. */
  get reopensAt(): number | undefined {
    return this.allows ? undefined : this.openUntil;
  }

  succeeded(): void {
    this.consecutive = 0;
    this.openUntil = 0;
  }

  failed(): void {
    this.consecutive += 1;
    if (this.consecutive >= this.failures) {
      this.openUntil = this.now() + this.cooldownMs;
      // Half-open after the cool-down: one more failure reopens it at once.
      this.consecutive = this.failures - 1;
    }
  }
}
