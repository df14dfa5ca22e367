/**
 * The tools one upstream connection lists: the gateway's own, or an agent's
 * upstream session or child, each of which may list other definitions than
 * the rest. Listed on first use and listed again the moment the upstream
 * says its list changed; each listing goes to the pins (`observe`) before
 * anyone reads it, so a definition changed on any connection is quarantined.
 */
import type { ToolInput } from '../policy/engine/decision.js';
import { definitionHash, toolDefinitionOf } from '../pinning/definition.js';
import { flagDefinition } from '../pinning/description-inspection.js';
import type { Params } from '../protocol/jsonrpc.js';

/** Most pages followed when listing one upstream (a misbehaving server cannot loop us forever). */
export const MAX_LIST_PAGES = 100;

/**
 * Listings in a row while the upstream keeps announcing changes during them:
 * the last one answers those waiting but is not kept (the next call lists again).
 */
const MAX_ROUNDS = 4;

/** Every page of a list method, concatenated; `request` asks for one page. */
export async function listPages(request: (params: Params | undefined) => Promise<Params>, key: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const result = await request(cursor === undefined ? undefined : { cursor });
    const batch = result[key];
    if (Array.isArray(batch)) items.push(...batch);
    cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
    if (cursor === undefined) break;
  }
  return items;
}

export function toolInputOf(entry: unknown): ToolInput | undefined {
  const definition = toolDefinitionOf(entry);
  if (definition === undefined) return undefined;
  return { definition_hash: definitionHash(definition), annotations: definition.annotations ?? {}, flags: flagDefinition(definition) };
}

function byName(tools: readonly unknown[]): Map<string, ToolInput> {
  const named = new Map<string, ToolInput>();
  for (const tool of tools) {
    const input = toolInputOf(tool);
    const name = (tool as { name?: unknown }).name;
    if (input !== undefined && typeof name === 'string') named.set(name, input);
  }
  return named;
}

export class LaneTools {
  #listed: ReadonlyMap<string, ToolInput> | undefined;
  /** The entries of the kept listing, as the upstream sent them (for recheck). */
  #entries: readonly unknown[] = [];
  #listing: Promise<ReadonlyMap<string, ToolInput>> | undefined;
  /** The upstream announced a change while a listing was on its way. */
  #changedMeanwhile = false;
  /** Someone asked for the tools: a change is listed at once, not when the next call comes. */
  #wanted = false;

  constructor(
    /** Lists every tool of this connection. */
    private readonly list: () => Promise<unknown[]>,
    /** Told every listing before it is used (the pins check it). */
    private readonly observe: (tools: readonly unknown[]) => void,
  ) {}

  /** The tools by name while the listing is current: no await on the hot path. */
  get current(): ReadonlyMap<string, ToolInput> | undefined {
    return this.#listed;
  }

  /** The current listing, listed first when there is none; callers at the same time share one listing. */
  load(): Promise<ReadonlyMap<string, ToolInput>> {
    if (this.#listed !== undefined) return Promise.resolve(this.#listed);
    this.#wanted = true;
    this.#listing ??= this.#fetch().finally(() => {
      this.#listing = undefined;
    });
    return this.#listing;
  }

  /**
   * The upstream said its tool list changed: the listing is dropped at once
   * (a call from now on waits for the new one) and listed again. Changes
   * announced during a listing make one more listing, never one each.
   */
  changed(): void {
    this.#listed = undefined;
    if (this.#listing !== undefined) this.#changedMeanwhile = true;
    else if (this.#wanted) this.load().catch(() => undefined);
  }

  /** Shows the kept listing to the pins again (what is approved changed since it was listed). */
  recheck(): void {
    if (this.#listed !== undefined) this.observe(this.#entries);
  }

  async #fetch(): Promise<ReadonlyMap<string, ToolInput>> {
    for (let round = 1; ; round++) {
      this.#changedMeanwhile = false;
      const entries = await this.list();
      this.observe(entries);
      const named = byName(entries);
      if (!this.#changedMeanwhile) {
        this.#listed = named;
        this.#entries = entries;
        return named;
      }
      if (round === MAX_ROUNDS) return named;
    }
  }
}
