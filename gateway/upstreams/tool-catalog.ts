/**
 * Tool definitions per upstream, as the policy input needs them (definition
 * hash, annotations, description flags). Fetched on first use, dropped when
 * the upstream says its tool list changed.
 */
import type { ToolInput } from '../policy/engine/decision.js';
import { definitionHash, toolDefinitionOf } from '../pinning/definition.js';
import { flagDefinition } from '../pinning/description-inspection.js';
import type { UpstreamRegistry } from './registry.js';
import { GatewayError } from '../errors.js';
import type { CancelSignal } from '../protocol/cancellation.js';
import type { Params } from '../protocol/jsonrpc.js';
import type { LaneAgent } from './agent-lanes.js';

/** Most pages followed when listing one upstream (a misbehaving server cannot loop us forever). */
export const MAX_LIST_PAGES = 100;

/** Every page of a list method on one upstream, concatenated; on the agent's own connection when `agent` is given. */
export async function listAll(upstreams: UpstreamRegistry, server: string, method: string, key: string, signal?: CancelSignal, agent?: LaneAgent): Promise<unknown[]> {
  const upstream = upstreams.get(server);
  if (upstream === undefined) throw new GatewayError('unknownServer', server);
  const items: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const result: Params = await upstream.request(method, cursor === undefined ? undefined : { cursor }, { signal, ...(agent === undefined ? {} : { agent }) });
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

export class ToolCatalog {
  private readonly cache = new Map<string, Promise<Map<string, ToolInput>>>();
  /** The listings that have arrived, so a call needs no await once its upstream is listed. */
  private readonly loaded = new Map<string, ReadonlyMap<string, ToolInput>>();

  constructor(private readonly upstreams: UpstreamRegistry) {}

  private load(server: string): Promise<Map<string, ToolInput>> {
    let entry = this.cache.get(server);
    if (entry === undefined) {
      const pending = listAll(this.upstreams, server, 'tools/list', 'tools').then((tools) => {
        const byName = new Map<string, ToolInput>();
        for (const tool of tools) {
          const input = toolInputOf(tool);
          const name = (tool as { name?: unknown }).name;
          if (input !== undefined && typeof name === 'string') byName.set(name, input);
        }
        // A listing invalidated while it was on its way is not kept.
        if (this.cache.get(server) === pending) this.loaded.set(server, byName);
        return byName;
      });
      entry = pending;
      // A failed listing is not remembered: the next call tries again.
      entry.catch(() => {
        if (this.cache.get(server) === pending) this.cache.delete(server);
      });
      this.cache.set(server, entry);
    }
    return entry;
  }

  /** The upstream's tools by name, when its listing has already arrived. */
  listed(server: string): ReadonlyMap<string, ToolInput> | undefined {
    return this.loaded.get(server);
  }

  /** The tool's description for the policy; undefined when the upstream does not list it. */
  async describe(server: string, tool: string): Promise<ToolInput | undefined> {
    return (await this.load(server)).get(tool);
  }

  invalidate(server: string): void {
    this.cache.delete(server);
    this.loaded.delete(server);
  }
}
