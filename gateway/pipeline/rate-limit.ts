/**
 * Rate-limit stage: after the policy allowed a request to an upstream, takes
 * a token from each bucket that applies (per agent, the decision's rate class
 * per agent and tool, per server). A refusal says when to retry.
 */
import { GatewayError } from '../errors.js';
import type { MessageContext, Next, Outcome } from './context.js';
import type { RateLimitedEvent } from './enforcement.js';

export function rateLimitStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (ctx.direction !== 'request' || ctx.message.kind !== 'request' || route?.kind !== 'upstream') return next();
  const { enforcement } = ctx.services;
  const rate = ctx.decisions?.get(route.server)?.rate;
  const verdict = enforcement.limiter.check({
    agentId: ctx.agent.id,
    server: route.server,
    ...(route.tool === undefined ? {} : { tool: route.tool }),
    ...(rate === undefined ? {} : { rate }),
  });
  if (verdict.allowed) return next();
  const retryAfterMs = Number.isFinite(verdict.retryAfterMs) ? verdict.retryAfterMs : null;
  const event: RateLimitedEvent = {
    agent_id: ctx.agent.id,
    server: route.server,
    scope: verdict.scope,
    bucket: verdict.bucket,
    retry_after_ms: retryAfterMs,
  };
  if (route.tool !== undefined) event.tool = route.tool;
  enforcement.rateLimited(event);
  const detail = retryAfterMs === null ? 'this limit does not refill' : `retry after ${Math.ceil(retryAfterMs / 1000)} s`;
  throw new GatewayError('rateLimited', detail, { retry_after_ms: retryAfterMs, scope: verdict.scope, bucket: verdict.bucket });
}
