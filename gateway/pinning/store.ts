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

/** What the pipeline needs to allow, validate and describe a call. */
export type ToolStatus =
  | { state: 'pinned'; hash: string; definition: ToolDefinition; flags: string[] }
  | { state: 'quarantined'; change: PinChange }
  | { state: 'unknown' };

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
 */
export class PinStore {
  readonly #pins = new Map<string, Pin>();
  readonly #servers = new Set<string>();
  readonly #listeners = new Set<(event: PinEvent) => void>();
  /** Flags of pinned definitions: status() runs on every call, the definitions change only on review. */
  readonly #pinnedFlags = new WeakMap<ToolDefinition, string[]>();

  constructor(readonly file: string | undefined) {
    if (file && existsSync(file)) this.#load(file);
  }

  onEvent(listener: (event: PinEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Checks a tools/list answer from `server` and returns the entries an agent
   * may see, with invisible characters removed from their texts. Entries that
   * are not well-formed tools are dropped.
   */
  observe(server: string, entries: readonly unknown[]): unknown[] {
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
        if (pin.pending) {
          delete pin.pending;
          events.push({ ...base, type: 'reverted' });
        }
        visible.push(cleanDefinition(entry));
      } else if (!pin.pinned && firstListing) {
        pin.pinned = { hash, definition, pinned_at: new Date().toISOString() };
        delete pin.pending;
        events.push({ ...base, type: 'pinned' });
        visible.push(cleanDefinition(entry));
      } else if (pin.pending?.hash !== hash) {
        const change: PinChange = pin.pinned ? 'changed' : 'added';
        pin.pending = { hash, definition, seen_at: new Date().toISOString(), change };
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

  status(server: string, tool: string): ToolStatus {
    const pin = this.#pins.get(JSON.stringify([server, tool]));
    if (pin?.pending) return { state: 'quarantined', change: pin.pending.change };
    if (!pin?.pinned) return { state: 'unknown' };
    const { hash, definition } = pin.pinned;
    let flags = this.#pinnedFlags.get(definition);
    if (flags === undefined) {
      flags = flagDefinition(definition);
      this.#pinnedFlags.set(definition, flags);
    }
    return { state: 'pinned', hash, definition, flags };
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
