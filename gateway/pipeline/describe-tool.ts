/** Describe-tool stage: attaches the called tool's definition hash, annotations and flags. */
import type { MessageContext, Next, Outcome } from './context.js';

export async function describeToolStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (route?.kind === 'upstream' && route.tool !== undefined && ctx.message.method === 'tools/call') {
    // An unlisted tool gets no description; the policy sees that and decides.
    const tool = await ctx.services.tools.describe(route.server, route.tool).catch(() => undefined);
    if (tool !== undefined) ctx.tool = tool;
  }
  return next();
}
