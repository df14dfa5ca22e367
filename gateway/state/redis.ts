/**
 * The Redis (or Valkey) connection replicas share state through: one client
 * for commands and scripts, one for subscriptions. While Redis cannot be
 * reached, commands fail at once (no offline queue: a call is refused, never
 * parked behind a reconnect) and the client reconnects with capped,
 * jittered backoff; availability is reported to whoever listens (readiness,
 * metrics). Each (re)connection of the subscriber is announced so features
 * reload what they may have missed.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { LogSink } from '../util/log.js';
import type { StateConfig } from './config.js';

/** Backoff between reconnection attempts: doubling from this, capped below, with jitter. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
/** A command that gets no answer this long fails (the call it serves is refused). */
const COMMAND_TIMEOUT_MS = 2_000;
/** How long start waits for a first connection before going on without one (not ready). */
const START_WAIT_MS = 5_000;

/** A Lua script run atomically on the server (EVALSHA, sent in full once Redis has forgotten it). */
export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

export class StateUnavailableError extends Error {
  constructor(cause: string) {
    super(`shared state unavailable: ${cause}`);
    this.name = 'StateUnavailableError';
  }
}

function retryDelay(attempt: number): number {
  const capped = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempt, 16));
  return Math.round(capped / 2 + Math.random() * (capped / 2));
}

export class RedisState {
  readonly backend = 'redis' as const;
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #availability = new Set<(available: boolean) => void>();
  readonly #resync = new Set<() => void>();
  readonly #topics = new Map<string, Set<(message: string) => void>>();
  #available = false;
  #reconnects = 0;

  private constructor(config: StateConfig & { url: string }, password: string | undefined, log: LogSink) {
    this.#prefix = config.key_prefix;
    const options: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => retryDelay(attempt),
      ...(password === undefined ? {} : { password }),
    };
    this.#client = new Redis(config.url, options);
    // Subscriptions are (re)issued by the client itself on every reconnection.
    this.#subscriber = new Redis(config.url, { ...options, enableOfflineQueue: true, autoResubscribe: true, commandTimeout: undefined });
    this.#client.on('ready', () => this.#setAvailable(true));
    this.#client.on('close', () => this.#setAvailable(false));
    this.#client.on('reconnecting', () => this.#reconnects++);
    // Errors are reported through availability; a line per failed attempt would flood the log.
    let logged = false;
    this.#client.on('error', (err: Error) => {
      if (!logged) log('error', 'shared state (Redis) unreachable: calls that need it are refused until it is back', { error: err.name });
      logged = true;
    });
    this.#client.on('ready', () => {
      if (logged) log('info', 'shared state (Redis) reachable again');
      logged = false;
    });
    this.#subscriber.on('error', () => undefined);
    this.#subscriber.on('ready', () => {
      for (const listener of this.#resync) listener();
    });
    this.#subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.#topics.get(channel) ?? []) listener(message);
    });
  }

  /** Connects (waiting a few seconds for a first connection at most) and keeps reconnecting. */
  static async open(config: StateConfig & { url: string }, env: NodeJS.ProcessEnv, log: LogSink): Promise<RedisState> {
    const password = config.password_env === undefined ? undefined : env[config.password_env];
    if (config.password_env !== undefined && password === undefined) throw new Error(`state.password_env: ${config.password_env} is not set`);
    const state = new RedisState(config, password, log);
    const first = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, START_WAIT_MS);
      state.#client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // A failed first attempt is retried by the client (retryStrategy); start goes on not ready.
    state.#client.connect().catch(() => undefined);
    state.#subscriber.connect().catch(() => undefined);
    await first;
    return state;
  }

  get available(): boolean {
    return this.#available;
  }

  /** Reconnection attempts since start (a metric). */
  get reconnects(): number {
    return this.#reconnects;
  }

  onAvailability(listener: (available: boolean) => void): () => void {
    this.#availability.add(listener);
    return () => this.#availability.delete(listener);
  }

  /** Called after every (re)connection of the subscription: reload what may have been missed meanwhile. */
  onResync(listener: () => void): () => void {
    this.#resync.add(listener);
    return () => this.#resync.delete(listener);
  }

  /** The full key (or channel) name of `parts` under this gateway's prefix. */
  key(...parts: string[]): string {
    return `${this.#prefix}${parts.join(':')}`;
  }

  /** Runs a script atomically; rejects with StateUnavailableError when Redis cannot answer. */
  async run(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      try {
        return await this.#client.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return await this.#client.eval(script.source, keys.length, ...keys, ...args);
      }
    } catch (err) {
      throw new StateUnavailableError(err instanceof Error ? err.message.split('\n')[0] ?? err.name : 'unknown');
    }
  }

  /** Every field of a hash (`key` already prefixed). */
  async hashEntries(key: string): Promise<Record<string, string>> {
    try {
      return await this.#client.hgetall(key);
    } catch (err) {
      throw new StateUnavailableError(err instanceof Error ? err.message : 'unknown');
    }
  }

  /** Listens on a channel (`channel` already prefixed); returns the unsubscribe. */
  subscribe(channel: string, listener: (message: string) => void): () => void {
    let listeners = this.#topics.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#topics.set(channel, listeners);
      this.#subscriber.subscribe(channel).catch(() => undefined);
    }
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#availability.clear();
    this.#resync.clear();
    this.#topics.clear();
    this.#client.disconnect();
    this.#subscriber.disconnect();
  }

  #setAvailable(available: boolean): void {
    if (available === this.#available) return;
    this.#available = available;
    for (const listener of this.#availability) listener(available);
  }
}
