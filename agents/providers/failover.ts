/**
 * Asking an agent's models in failover order. Each provider gets its retries
 * with exponential backoff (a Retry-After header wins, when it is short
 * enough to wait for), then the next model is tried. A configuration error
 * (400, 401, 403, 404) stops at once and names the provider, model and key:
 * failing over would hide it. A provider without its key, or whose circuit
 * is open, is skipped. Every attempt, skip and failover is reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelChoice } from '../catalog/schema.js';
import { CircuitBreaker } from './breaker.js';
import type { ProviderConfig, ProvidersConfig } from './config.js';
import { classify } from './failure.js';
import type { Failure, FailureKind } from './failure.js';
import { keySource, MissingKeyError, readKey } from './keys.js';
import { askModel, languageModel } from './model.js';
import type { ModelAnswer, ModelRequest, ProviderModel } from './model.js';

/** Why a provider was not asked (a fixed set). */
export type SkipKind = 'not_configured' | 'circuit_open' | 'no_key';

export type LlmEvent =
  | {
      type: 'llm_attempt';
      provider: string;
      model: string;
      attempt: number;
      outcome: 'ok' | 'error';
      latency_ms: number;
      /** With outcome error: which kind (a fixed set). */
      failure?: FailureKind;
      reason?: string;
      status?: number;
      input_tokens?: number;
      output_tokens?: number;
    }
  | { type: 'llm_retry'; provider: string; model: string; attempt: number; wait_ms: number; reason: string }
  | { type: 'llm_skipped'; provider: string; model: string; skip: SkipKind; reason: string }
  | { type: 'llm_failover'; provider: string; model: string; reason: string };

/** A request the configuration must fix: a retry or another provider would only hide it. */
export class ModelConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelConfigurationError';
  }
}

/** Every model of the list was tried (or skipped) and none answered. */
export class NoModelAnsweredError extends Error {
  constructor(readonly reasons: string[]) {
    super(`no model answered: ${reasons.join('; ')}`);
    this.name = 'NoModelAnsweredError';
  }
}

export type LlmListener = (event: LlmEvent) => void;

/**
 * One attempt's signal: aborted by the caller's signal or by the attempt's
 * time limit. `end` drops the timer and the listener at once, where
 * AbortSignal.timeout/any would hold them until garbage collection.
 */
function attemptSignal(parent: AbortSignal, ms: number): { signal: AbortSignal; timedOut: () => boolean; end: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('the model request timed out', 'TimeoutError'));
  }, ms);
  timer.unref();
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    end: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

export interface RouterOptions {
  env?: NodeJS.ProcessEnv;
  /** 0..1, for the backoff's jitter (tests pin it). */
  random?: () => number;
  /** The providers' HTTP client (default: the global fetch); the bench answers in-process. */
  fetch?: typeof globalThis.fetch;
}

export interface RoutedAnswer extends ModelAnswer {
  provider: string;
  model: string;
}

export class ModelRouter {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly models = new Map<string, { key: string | undefined; model: ProviderModel }>();
  private readonly listeners = new Set<LlmListener>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly random: () => number;

  constructor(
    private readonly providers: ProvidersConfig,
    private readonly options: RouterOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.random = options.random ?? Math.random;
  }

  /** The configured provider names (the only values a provider label takes). */
  get providerNames(): string[] {
    return Object.keys(this.providers);
  }

  /** Every request's events (metrics, logs); returns the unsubscribe. */
  onEvent(listener: LlmListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Why none of these models can be asked at all (no provider configured, no key), or undefined. */
  unusable(models: readonly ModelChoice[]): string | undefined {
    const missing: string[] = [];
    for (const choice of models) {
      const config = this.providers[choice.provider];
      if (config === undefined) {
        missing.push(`configure provider "${choice.provider}" (orchestrator.providers)`);
        continue;
      }
      try {
        readKey(choice.provider, config, this.env);
        return undefined;
      } catch (err) {
        if (!(err instanceof MissingKeyError)) throw err;
        missing.push(`set ${err.where} for provider "${choice.provider}"`);
      }
    }
    return `no model provider is usable: ${[...new Set(missing)].join(', or ')}`;
  }

  /** `report` also receives this request's events (e.g. into the transcript of the task that asked). */
  async ask(models: readonly ModelChoice[], request: ModelRequest, signal: AbortSignal, report?: (event: LlmEvent) => void): Promise<RoutedAnswer> {
    const emit = (event: LlmEvent): void => {
      for (const listener of this.listeners) listener(event);
      report?.(event);
    };
    const reasons: string[] = [];
    for (const choice of models) {
      const prepared = this.prepare(choice);
      if ('skip' in prepared) {
        emit({ type: 'llm_skipped', ...choice, ...prepared });
        reasons.push(`${choice.provider}/${choice.model}: ${prepared.reason}`);
        continue;
      }
      const failure = await this.tryProvider(choice, prepared.config, prepared.model, request, signal, emit);
      if ('text' in failure) return failure;
      reasons.push(`${choice.provider}/${choice.model}: ${failure.reason}`);
      emit({ type: 'llm_failover', ...choice, reason: failure.reason });
    }
    throw new NoModelAnsweredError(reasons);
  }

  private breaker(name: string, config: ProviderConfig): CircuitBreaker {
    let breaker = this.breakers.get(name);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(config.breaker_failures, config.breaker_cooldown_s * 1000);
      this.breakers.set(name, breaker);
    }
    return breaker;
  }

  /** The provider's config and SDK model, or why it is skipped. */
  private prepare(choice: ModelChoice): { config: ProviderConfig; model: ProviderModel } | { skip: SkipKind; reason: string } {
    const config = this.providers[choice.provider];
    if (config === undefined) return { skip: 'not_configured', reason: 'provider not configured' };
    const reopens = this.breaker(choice.provider, config).reopensAt;
    if (reopens !== undefined) return { skip: 'circuit_open', reason: `circuit open until ${new Date(reopens).toISOString()}` };
    let key: string | undefined;
    try {
      key = readKey(choice.provider, config, this.env);
    } catch (err) {
      if (err instanceof MissingKeyError) return { skip: 'no_key', reason: `no API key (set ${err.where})` };
      throw err;
    }
    // One SDK model object per provider and model, made anew only when the key changed (a key file may be rotated).
    const id = `${choice.provider}\n${choice.model}`;
    let made = this.models.get(id);
    if (made === undefined || made.key !== key) {
      made = { key, model: languageModel(choice.provider, config, choice.model, key, this.options.fetch) };
      this.models.set(id, made);
    }
    return { config, model: made.model };
  }

  /** The answer, or the last failure once this provider's retries are spent. */
  private async tryProvider(
    choice: ModelChoice,
    config: ProviderConfig,
    model: ProviderModel,
    request: ModelRequest,
    signal: AbortSignal,
    emit: (event: LlmEvent) => void,
  ): Promise<RoutedAnswer | { reason: string }> {
    const breaker = this.breaker(choice.provider, config);
    let failure: Failure | undefined;
    for (let attempt = 1; attempt <= config.retries + 1; attempt++) {
      if (!breaker.allows) return { reason: 'circuit opened' };
      const limit = attemptSignal(signal, config.timeout_ms);
      const started = performance.now();
      try {
        const answer = await askModel(model, request, config, limit.signal);
        breaker.succeeded();
        emit({
          type: 'llm_attempt',
          ...choice,
          attempt,
          outcome: 'ok',
          latency_ms: Math.round(performance.now() - started),
          input_tokens: answer.inputTokens,
          output_tokens: answer.outputTokens,
        });
        return { ...answer, ...choice };
      } catch (err) {
        const latency = Math.round(performance.now() - started);
        if (signal.aborted) {
          emit({ type: 'llm_attempt', ...choice, attempt, outcome: 'error', latency_ms: latency, failure: 'cancelled', reason: 'cancelled' });
          throw signal.reason;
        }
        const classified = classify(err, limit.timedOut());
        const event: LlmEvent = { type: 'llm_attempt', ...choice, attempt, outcome: 'error', latency_ms: latency, failure: classified.kind, reason: classified.reason };
        if (classified.status !== undefined) event.status = classified.status;
        emit(event);
        if (!classified.retryable) throw this.configurationError(choice, config, classified);
        breaker.failed();
        failure = classified;
      } finally {
        limit.end();
      }
      if (attempt > config.retries) break;
      const wait = this.backoff(config, attempt, failure);
      if (wait === undefined) break;
      emit({ type: 'llm_retry', ...choice, attempt: attempt + 1, wait_ms: wait, reason: failure.reason });
      await sleep(wait, undefined, { signal });
    }
    // The loop runs at least once (retries >= 0) and each pass answers or sets the failure.
    return failure ?? { reason: 'not tried' };
  }

  /** How long to wait before the next attempt; undefined: a Retry-After longer than we wait, so fail over now. */
  private backoff(config: ProviderConfig, attempt: number, failure: Failure): number | undefined {
    if (failure.retryAfterMs !== undefined) return failure.retryAfterMs <= config.max_backoff_ms ? failure.retryAfterMs : undefined;
    const exponential = Math.min(config.max_backoff_ms, config.backoff_ms * 2 ** (attempt - 1));
    return Math.round(exponential * (0.5 + this.random() / 2));
  }

  private configurationError(choice: ModelChoice, config: ProviderConfig, failure: Failure): ModelConfigurationError {
    const key = keySource(config);
    const hint = failure.status === 401 || failure.status === 403 ? (key === undefined ? '' : `; check the key in ${key}`) : `; check the model name "${choice.model}"`;
    return new ModelConfigurationError(`provider "${choice.provider}" refused model "${choice.model}": ${failure.reason}${hint}`);
  }
}
