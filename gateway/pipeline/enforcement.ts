/**
 * The enforcement controls the pipeline stages share: rate limiter, hold
 * store, tool pins and argument validator, built once from the configuration.
 * Their events (holds, pins, rate refusals) are what audit and metrics subscribe to.
 */
import type { AuditLog, ControlEvent } from '../audit/index.js';
import type { PortcullisConfig } from '../config/sections.js';
import { resolveConfigPath } from '../config/load.js';
import { HoldStore } from '../holds/store.js';
import { notifyWebhook } from '../holds/webhook.js';
import { PinStore } from '../pinning/store.js';
import { RateLimiter, type RateChecker, type RateScope } from '../ratelimit/limiter.js';
import { SharedRateLimiter } from '../ratelimit/shared.js';
import type { RedisState } from '../state/redis.js';
import { RedisTokenBuckets } from '../state/token-buckets.js';
import { SharedRecords } from '../state/records.js';
import { redactJson } from '../sanitize/json.js';
import type { Findings } from '../sanitize/text.js';
import { ArgumentValidator } from '../validate/arguments.js';
import type { LogSink } from '../util/log.js';

/** A response the policy masked (what was found, by detector) or withheld (`blocked`). */
export interface InspectedEvent {
  server: string;
  tool?: string;
  found: Findings;
  blocked?: boolean;
}

export interface RateLimitedEvent {
  agent_id: string;
  server: string;
  tool?: string;
  scope: RateScope;
  bucket: string;
  retry_after_ms: number | null;
}

/** What the controls report to (GatewayMetrics implements it). */
export interface EnforcementMetrics {
  rateLimited(scope: string): void;
  redactions(found: Findings): void;
  holdEvent(type: string, ageSeconds: number, pending: number): void;
  pinEvent(type: string, quarantined: number): void;
}

export class Enforcement {
  readonly #rateListeners = new Set<(event: RateLimitedEvent) => void>();
  readonly #inspectListeners = new Set<(event: InspectedEvent) => void>();

  constructor(
    readonly limiter: RateChecker,
    readonly holds: HoldStore,
    readonly pins: PinStore,
    readonly validator: ArgumentValidator,
    /** How often a waiting agent that asked for progress hears from us. */
    readonly holdProgressMs: number,
  ) {}

  onRateLimited(listener: (event: RateLimitedEvent) => void): () => void {
    this.#rateListeners.add(listener);
    return () => this.#rateListeners.delete(listener);
  }

  rateLimited(event: RateLimitedEvent): void {
    for (const listener of this.#rateListeners) listener(event);
  }

  onRedacted(listener: (event: InspectedEvent) => void): () => void {
    this.#inspectListeners.add(listener);
    return () => this.#inspectListeners.delete(listener);
  }

  redacted(event: InspectedEvent): void {
    for (const listener of this.#inspectListeners) listener(event);
  }

  /** Feeds every rate refusal, hold event and pinning event to the metrics. */
  reportTo(metrics: EnforcementMetrics): void {
    this.onRateLimited((event) => metrics.rateLimited(event.scope));
    this.onRedacted((event) => metrics.redactions(event.found));
    this.holds.onEvent((event) => metrics.holdEvent(event.type, event.age_s, this.holds.pendingCount));
    this.pins.onEvent((event) => metrics.pinEvent(event.type, this.pins.quarantinedCount));
  }

  /**
   * Records every hold, pinning, rate-limit and redaction event in the audit
   * trail as a record of its own. A failed write is logged; the trail then
   * fails closed and refuses the next calls.
   */
  auditTo(audit: AuditLog, log: (level: 'error', message: string, fields?: Record<string, unknown>) => void): void {
    const record = (event: ControlEvent): void => {
      audit.record(event).catch(() => log('error', 'audit record of a control event not written', { control: event.control, event: event.event }));
    };
    this.holds.onEvent(({ type, hold, age_s }) => {
      // The decision record already holds the (redacted) arguments; the digest binds them.
      const { arguments: _arguments, ...fields } = hold;
      record({ type: 'event', control: 'hold', event: type, details: { ...fields, age_s } });
    });
    this.pins.onEvent((event) => {
      const { type, ...details } = event;
      record({ type: 'event', control: 'pin', event: type, details: { ...details } });
    });
    this.onRateLimited((event) => record({ type: 'event', control: 'rate-limit', event: 'refused', details: { ...event } }));
    this.onRedacted((event) => {
      const { blocked, ...details } = event;
      record({ type: 'event', control: 'redaction', event: blocked === true ? 'blocked' : 'masked', details: { ...details } });
    });
  }

  /** Ends waiting holds (as cancelled) so no agent request hangs past shutdown. */
  close(): void {
    this.holds.close();
  }
}

/** `state`: the replicas' shared state (state.backend redis); without it every control lives in this process. */
export function enforcementFromConfig(
  config: PortcullisConfig,
  log: LogSink,
  state?: RedisState,
): Enforcement {
  const holdsFile = config.holds.file;
  const pinsFile = config.pinning.file;
  const holds = new HoldStore({
    ...(holdsFile === undefined ? {} : { file: resolveConfigPath(config, holdsFile) }),
    maxPending: config.holds.max_pending,
    maxTimeoutS: config.holds.max_timeout_s,
    keepFinished: config.holds.keep_finished,
    mode: config.holds.mode,
    approvalTtlS: config.holds.approval_ttl_s,
    redact: (args) => redactJson(args).value,
    ...(state === undefined ? {} : { board: new SharedRecords(state, 'holds') }),
  });
  const webhook = config.holds.webhook;
  if (webhook) {
    holds.onEvent(
      notifyWebhook(webhook, config.holds.console_url, (hold, result) => {
        if (!result.ok) log('warn', 'hold webhook failed', { hold: hold.id, error: result.error });
      }),
    );
  }
  return new Enforcement(
    state === undefined
      ? new RateLimiter(config.rate_limits ?? {})
      : new SharedRateLimiter(config.rate_limits ?? {}, new RedisTokenBuckets(state), () => state.available),
    holds,
    new PinStore(pinsFile === undefined ? undefined : resolveConfigPath(config, pinsFile)),
    new ArgumentValidator(),
    config.holds.progress_interval_s * 1000,
  );
}
