import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import { canonicalJson } from '../util/canonical-json.js';
import { definitionHash, type ToolDefinition, toolDefinitionOf } from './definition.js';
import { cleanDefinition, flagDefinition, revealInvisible } from './description-inspection.js';
import { lineDiff } from './diff.js';

/** How a definition differs from what was reviewed: a new version, or a tool that was not there. */
export type PinChange = 'changed' | 'added';

interface Pending {
  hash: string;
  definition: ToolDefinition;
  seen_at: string;
  change: PinChange;
}

interface Pin {
  server: string;
  tool: string;
  /** Absent for a tool that appeared after the first listing and was never approved. */
  pinned?: { hash: string; definition: ToolDefinition; pinned_at: string };
  pending?: Pending;
}

export type PinEventType = 'pinned' | 'quarantined' | 'approved' | 'reverted';

export interface PinEvent {
  type: PinEventType;
  server: string;
  tool: string;
  hash: string;
  previous_hash?: string;
  change?: PinChange;
  flags: string[];
  approver?: string;
}

/** The reviewed definition of a tool: what a call is checked against and the policy is shown. */
export interface PinnedTool {
  hash: string;
  definition: ToolDefinition;
  flags: string[];
}

/** Where a tool stands as a whole: pinned, or a change awaiting review, or never listed. */
export type ToolStatus = ({ state: 'pinned' } & PinnedTool) | { state: 'quarantined'; change: PinChange } | { state: 'unknown' };

export interface QuarantinedTool {
  server: string;
  tool: string;
  change: PinChange;
  pinned_hash?: string;
  pending_hash: string;
  seen_at: string;
  flags: string[];
  /** Old → new definition, pretty JSON with invisible characters shown as escapes. */
  diff: string[];
}

export class PinError extends Error {
  constructor(
    readonly reason: 'not-quarantined' | 'hash-mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'PinError';
  }
}

interface PinFile {
  version: 1;
  /** Servers already listed once, including those with no tools. */
  servers: string[];
  pins: Pin[];
}

function reviewText(definition: ToolDefinition | undefined): string {
  if (!definition) return '';
  return revealInvisible(JSON.stringify(JSON.parse(canonicalJson(definition)), null, 2));
}

/**
 * Tool definitions pinned per upstream server (persisted as one JSON file,
 * rewritten atomically). The first listing of a server pins every tool; any
 * later difference, or a tool that was not in it, is quarantined: hidden from
 * listings and uncallable until an operator approves that exact definition.
 *
 * One server may be reached over several connections (lanes: the gateway's
 * own, each agent's upstream session or child), and one of them may list a
 * definition the others do not. A pending change belongs to the lane that
 * listed it: only that lane's listings replace it or (listing the pinned
 * definition again) revert it, so lanes that differ do not undo each other's
 * quarantine; another lane's call is refused only when what it lists is not
 * the pinned definition. A pending change read from the file (its lane gone
 * with the restart) belongs to every lane.
 */
export class PinStore {
  readonly #pins = new Map<string, Pin>();
  readonly #servers = new Set<string>();
  readonly #listeners = new Set<(event: PinEvent) => void>();
  /** Flags of pinned definitions: callable() runs on every call, the definitions change only on review. */
  readonly #pinnedFlags = new WeakMap<ToolDefinition, string[]>();
  /** The lane each pending change was listed on (absent: any lane's). */
  readonly #pendingLanes = new Map<string, string>();

  constructor(readonly file: string | undefined) {
    if (file && existsSync(file)) this.#load(file);
  }

  onEvent(listener: (event: PinEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Checks a tools/list answer from `server` (over the connection `lane`) and
   * returns the entries an agent may see, with invisible characters removed
   * from their texts. Entries that are not well-formed tools are dropped.
   */
  observe(server: string, entries: readonly unknown[], lane?: string): unknown[] {
    const firstListing = !this.#servers.has(server);
    const visible: unknown[] = [];
    const events: PinEvent[] = [];
    for (const entry of entries) {
      const definition = toolDefinitionOf(entry);
      if (!definition) continue;
      const hash = definitionHash(definition);
      const key = JSON.stringify([server, definition.name]);
      const pin = this.#pins.get(key) ?? { server, tool: definition.name };
      const flags = flagDefinition(definition);
      const base = { server, tool: definition.name, hash, flags };
      if (pin.pinned?.hash === hash) {
        if (pin.pending && this.#pendingOn(key, lane)) {
          delete pin.pending;
          this.#pendingLanes.delete(key);
          events.push({ ...base, type: 'reverted' });
        }
        visible.push(cleanDefinition(entry));
      } else if (!pin.pinned && firstListing) {
        pin.pinned = { hash, definition, pinned_at: new Date().toISOString() };
        delete pin.pending;
        events.push({ ...base, type: 'pinned' });
        visible.push(cleanDefinition(entry));
      } else if (pin.pending?.hash !== hash && (!pin.pending || this.#pendingOn(key, lane))) {
        const change: PinChange = pin.pinned ? 'changed' : 'added';
        pin.pending = { hash, definition, seen_at: new Date().toISOString(), change };
        if (lane === undefined) this.#pendingLanes.delete(key);
        else this.#pendingLanes.set(key, lane);
        const event: PinEvent = { ...base, type: 'quarantined', change };
        if (pin.pinned) event.previous_hash = pin.pinned.hash;
        events.push(event);
      }
      this.#pins.set(key, pin);
    }
    this.#servers.add(server);
    if (events.length > 0 || firstListing) this.#save();
    for (const event of events) this.#emit(event);
    return visible;
  }

  /** True when the pending change of `key` was listed on `lane` (or its lane is not known). */
  #pendingOn(key: string, lane: string | undefined): boolean {
    const seen = this.#pendingLanes.get(key);
    return seen === undefined || seen === lane;
  }

  #reviewed(pinned: NonNullable<Pin['pinned']>): PinnedTool {
    const { hash, definition } = pinned;
    let flags = this.#pinnedFlags.get(definition);
    if (flags === undefined) {
      flags = flagDefinition(definition);
      this.#pinnedFlags.set(definition, flags);
    }
    return { hash, definition, flags };
  }

  status(server: string, tool: string): ToolStatus {
    const pin = this.#pins.get(JSON.stringify([server, tool]));
    if (pin?.pending) return { state: 'quarantined', change: pin.pending.change };
    if (!pin?.pinned) return { state: 'unknown' };
    return { state: 'pinned', ...this.#reviewed(pin.pinned) };
  }

  /** The reviewed definition, whatever change awaits review. */
  pinned(server: string, tool: string): PinnedTool | undefined {
    const pinned = this.#pins.get(JSON.stringify([server, tool]))?.pinned;
    return pinned === undefined ? undefined : this.#reviewed(pinned);
  }

  /**
   * The reviewed definition, when a call may go to the connection `lane`:
   * what it lists (`hash`) is that definition, and no change listed on it
   * awaits review.
   */
  callable(server: string, tool: string, hash: string | undefined, lane?: string): PinnedTool | undefined {
    const key = JSON.stringify([server, tool]);
    const pin = this.#pins.get(key);
    if (pin?.pinned === undefined || pin.pinned.hash !== hash) return undefined;
    if (pin.pending !== undefined && this.#pendingOn(key, lane)) return undefined;
    return this.#reviewed(pin.pinned);
  }

  get quarantinedCount(): number {
    let count = 0;
    for (const pin of this.#pins.values()) if (pin.pending) count++;
    return count;
  }

  quarantined(): QuarantinedTool[] {
    const out: QuarantinedTool[] = [];
    for (const pin of this.#pins.values()) {
      if (!pin.pending) continue;
      const item: QuarantinedTool = {
        server: pin.server,
        tool: pin.tool,
        change: pin.pending.change,
        pending_hash: pin.pending.hash,
        seen_at: pin.pending.seen_at,
        flags: flagDefinition(pin.pending.definition),
        diff: lineDiff(reviewText(pin.pinned?.definition), reviewText(pin.pending.definition)),
      };
      if (pin.pinned) item.pinned_hash = pin.pinned.hash;
      out.push(item);
    }
    return out;
  }

  /** Accepts the quarantined definition whose hash the operator reviewed; any other hash is refused. */
  approve(server: string, tool: string, hash: string, approver: string): PinEvent {
    const pin = this.#pins.get(JSON.stringify([server, tool]));
    if (!pin?.pending) throw new PinError('not-quarantined', `tool ${tool} on ${server} is not quarantined`);
    if (pin.pending.hash !== hash) {
      throw new PinError('hash-mismatch', 'the definition changed since it was reviewed; review the current diff');
    }
    const event: PinEvent = {
      type: 'approved',
      server,
      tool,
      hash,
      change: pin.pending.change,
      flags: flagDefinition(pin.pending.definition),
      approver,
    };
    if (pin.pinned) event.previous_hash = pin.pinned.hash;
    pin.pinned = { hash, definition: pin.pending.definition, pinned_at: new Date().toISOString() };
    delete pin.pending;
    this.#pendingLanes.delete(JSON.stringify([server, tool]));
    this.#save();
    this.#emit(event);
    return event;
  }

  #emit(event: PinEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #load(file: string): void {
    let parsed: PinFile;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as PinFile;
    } catch (err) {
      // Starting without the pins would silently re-trust every tool: refuse.
      throw new Error(`pin file ${file} is unreadable: ${(err as Error).message}`);
    }
    if (parsed?.version !== 1 || !Array.isArray(parsed.pins) || !Array.isArray(parsed.servers)) {
      throw new Error(`pin file ${file} has an unknown format`);
    }
    for (const server of parsed.servers) this.#servers.add(server);
    for (const pin of parsed.pins) this.#pins.set(JSON.stringify([pin.server, pin.tool]), pin);
  }

  #save(): void {
    if (!this.file) return;
    const content: PinFile = { version: 1, servers: [...this.#servers], pins: [...this.#pins.values()] };
    writeFileAtomic(this.file, `${JSON.stringify(content, null, 1)}\n`);
  }
}
