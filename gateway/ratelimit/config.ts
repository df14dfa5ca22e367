/** The `rate_limits` section of portcullis.yaml: schema fragment and type. */

export interface RateSpec {
  capacity: number;
  refill_per_s: number;
}

export interface RateLimitConfig {
  /** Most buckets kept in memory; least recently used ones are forgotten first. */
  max_buckets: number;
  /** Applies to every agent across all its calls. */
  per_agent?: RateSpec;
  /** Shared by all agents calling that upstream server, by server name. */
  per_server?: Record<string, RateSpec>;
  /**
   * With shared state (state.backend redis) out of reach: deny refuses calls
   * that a bucket governs; local counts them in this replica's own buckets
   * (each replica then allows up to the full rate).
   */
  on_state_unavailable: 'deny' | 'local';
}

export const DEFAULT_MAX_BUCKETS = 100_000;

const rateSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['capacity', 'refill_per_s'],
  properties: {
    capacity: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000 },
    refill_per_s: { type: 'number', minimum: 0, maximum: 1_000_000 },
  },
} as const;

export const rateLimitConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    max_buckets: { type: 'integer', minimum: 16, maximum: 10_000_000, default: DEFAULT_MAX_BUCKETS },
    per_agent: rateSpecSchema,
    per_server: { type: 'object', additionalProperties: rateSpecSchema },
    on_state_unavailable: { enum: ['deny', 'local'], default: 'deny' },
  },
} as const;
