/** Who a message goes upstream for: under `isolation: per_agent` it travels on that agent's own upstream connection. */
import type { LaneAgent } from '../upstreams/agent-lanes.js';
import type { MessageContext } from './context.js';

export function laneAgent(ctx: MessageContext): LaneAgent {
  return { session: ctx.channel.sessionId, auth: ctx.agent.auth, id: ctx.agent.id, capabilities: ctx.channel.clientCapabilities };
}
