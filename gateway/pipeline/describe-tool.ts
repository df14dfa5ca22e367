/**
 * Describe-tool stage: attaches the called tool's definition hash,
 * annotations and flags, as listed by the connection that will serve the
 * call (the agent's own under `isolation: per_agent`).
 */
import type { LaneAgent } from '../upstreams/agent-lanes.js';
import type { MessageContext, Next, Outcome } from './context.js';
import { laneAgent } from './lane-agent.js';

export function describeToolStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (route?.kind !== 'upstream' || route.tool === undefined || ctx.message.method !== 'tools/call') return next();
  const agent = laneAgent(ctx);
  const listed = ctx.services.tools.listed(route.server, agent);
  if (listed === undefined) return describeThenNext(ctx, route.server, route.tool, agent, next);
  const tool = listed.get(route.tool);
  if (tool !== undefined) ctx.tool = tool;
  return next();
}

async function describeThenNext(ctx: MessageContext, server: string, name: string, agent: LaneAgent, next: Next): Promise<Outcome> {
  // An unlisted tool gets no description; the policy sees that and decides.
  const tool = await ctx.services.tools.describe(server, name, agent).catch(() => undefined);
  if (tool !== undefined) ctx.tool = tool;
  return next();
}
