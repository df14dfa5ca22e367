/**
 * Tool definitions as the policy input needs them (definition hash,
 * annotations, description flags), read from the connection that serves the
 * agent's call: its own upstream session or child under `isolation:
 * per_agent`, the gateway's connection otherwise. Each connection keeps its
 * own listing (lane-tools.ts).
 */
import type { ToolInput } from '../policy/engine/decision.js';
import type { UpstreamRegistry } from './registry.js';
import { GatewayError } from '../errors.js';
import type { CancelSignal } from '../protocol/cancellation.js';
import type { LaneAgent } from './agent-lanes.js';
import { SHARED_LANE } from './agent-lanes.js';
import { listPages } from './lane-tools.js';

/** Every page of a list method on one upstream, concatenated; on the agent's own connection when `agent` is given. */
export function listAll(upstreams: UpstreamRegistry, server: string, method: string, key: string, signal?: CancelSignal, agent?: LaneAgent): Promise<unknown[]> {
  const upstream = upstreams.get(server);
  if (upstream === undefined) return Promise.reject(new GatewayError('unknownServer', server));
  return listPages((params) => upstream.request(method, params, { signal, ...(agent === undefined ? {} : { agent }) }), key);
}

export class ToolCatalog {
  constructor(private readonly upstreams: UpstreamRegistry) {}

  /** The tools the connection serving `agent` lists, when that connection is open and its listing current. */
  listed(server: string, agent: LaneAgent): ReadonlyMap<string, ToolInput> | undefined {
    return this.upstreams.get(server)?.readyTools(agent)?.current;
  }

  /** The tool's description on the connection serving `agent` (opened and listed when needed); undefined when it does not list it. */
  async describe(server: string, tool: string, agent: LaneAgent): Promise<ToolInput | undefined> {
    const upstream = this.upstreams.get(server);
    if (upstream === undefined) throw new GatewayError('unknownServer', server);
    return (await (await upstream.tools(agent)).load()).get(tool);
  }

  /** Shows the pins again what the connection serving `agent` lists. */
  recheck(server: string, agent: LaneAgent): void {
    this.upstreams.get(server)?.readyTools(agent)?.recheck();
  }

  /** The key the pins know that connection's listings by. */
  laneOf(server: string, agent: LaneAgent): string {
    return this.upstreams.get(server)?.laneOf(agent) ?? SHARED_LANE;
  }
}
