/**
 * A named collection of records in one Redis hash, each change announced on
 * the collection's channel in the same atomic step, so a replica that reads
 * the hash after subscribing misses nothing. `transition` changes a record
 * only from the state the caller saw (compare and set): of two replicas
 * deciding the same hold, one wins and the other is told what happened.
 */
import { LuaScript } from './redis.js';
import type { RedisState } from './redis.js';

/** KEYS: hash, channel. ARGV: field, value. */
const PUT = new LuaScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1
`);

/**
 * KEYS: hash, channel. ARGV: field, expected state, value. The stored
 * record's JSON field "state" must equal the expected one; returns 1, or
 * the stored value (false when there is none).
 */
const TRANSITION = new LuaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return false end
if cjson.decode(current)['state'] ~= ARGV[2] then return current end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
`);

export type TransitionResult = { ok: true } | { ok: false; current: string | undefined };

export class SharedRecords {
  readonly #hash: string;
  readonly #channel: string;

  constructor(
    private readonly state: RedisState,
    collection: string,
  ) {
    this.#hash = state.key(collection);
    this.#channel = state.key(collection, 'changes');
  }

  /** Stores (or replaces) a record and announces it. Rejects with StateUnavailableError. */
  async put(id: string, value: string): Promise<void> {
    await this.state.run(PUT, [this.#hash, this.#channel], [id, value]);
  }

  /** Replaces a record whose `state` is still `expected`; otherwise says what is stored. */
  async transition(id: string, expected: string, value: string): Promise<TransitionResult> {
    const result = await this.state.run(TRANSITION, [this.#hash, this.#channel], [id, expected, value]);
    if (result === 1) return { ok: true };
    return { ok: false, current: typeof result === 'string' ? result : undefined };
  }

  async all(): Promise<string[]> {
    return Object.values(await this.state.hashEntries(this.#hash));
  }

  /** Every record put or transitioned from now on, by any replica (this one included). */
  onChange(listener: (value: string) => void): () => void {
    return this.state.subscribe(this.#channel, listener);
  }

  /** After every (re)connection: the moment to reload with all(), changes missed meanwhile included. */
  onResync(listener: () => void): () => void {
    return this.state.onResync(listener);
  }

  get available(): boolean {
    return this.state.available;
  }
}
