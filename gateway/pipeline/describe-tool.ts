/** Describe-tool stage: attaches the called tool's definition hash, annotations and flags. */
import type { MessageContext, Next, Outcome } from './context.js';

export function describeToolStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (route?.kind !== 'upstream' || route.tool === undefined || ctx.message.method !== 'tools/call') return next();
  const listed = ctx.services.tools.listed(route.server);
  if (listed === undefined) return describeThenNext(ctx, route.server, route.tool, next);
  const tool = listed.get(route.tool);
  if (tool !== undefined) ctx.tool = tool;
  return next();
}

async function describeThenNext(ctx: MessageContext, server: string, name: string, next: Next): Promise<Outcome> {
  // An unlisted tool gets no description; the policy sees that and decides.
  const tool = await ctx.services.tools.describe(server, name).catch(() => undefined);
  if (tool !== undefined) ctx.tool = tool;
  return next();
}
