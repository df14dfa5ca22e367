/**
 * Rate-limit stage: after the policy allowed a request to an upstream, takes
 * a token from each bucket that applies (per agent, the decision's rate class
 * per agent and tool, per server). A refusal says when to retry. Buckets
 * shared through Redis answer asynchronously; while Redis is out of reach
 * the call is refused (stateUnavailable) unless rate_limits says local.
 */
import { GatewayError } from '../errors.js';
import type { RateVerdict } from '../ratelimit/limiter.js';
import { StateUnavailableError } from '../state/redis.js';
import type { MessageContext, Next, Outcome } from './context.js';
import type { RateLimitedEvent } from './enforcement.js';

function unavailable(err: unknown): unknown {
  return err instanceof StateUnavailableError ? new GatewayError('stateUnavailable', 'rate limits are shared and cannot be checked') : err;
}

export function rateLimitStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (ctx.direction !== 'request' || ctx.message.kind !== 'request' || route?.kind !== 'upstream') return next();
  const rate = ctx.decisions?.get(route.server)?.rate;
  let verdict: RateVerdict | Promise<RateVerdict>;
  try {
    verdict = ctx.services.enforcement.limiter.check({
      agentId: ctx.agent.id,
      server: route.server,
      ...(route.tool === undefined ? {} : { tool: route.tool }),
      ...(rate === undefined ? {} : { rate }),
    });
  } catch (err) {
    throw unavailable(err);
  }
  const call = { server: route.server, tool: route.tool };
  if (verdict instanceof Promise) {
    return verdict.then(
      (settled) => settle(ctx, call, settled, next),
      (err: unknown) => {
        throw unavailable(err);
      },
    );
  }
  return settle(ctx, call, verdict, next);
}

function settle(ctx: MessageContext, route: { server: string; tool: string | undefined }, verdict: RateVerdict, next: Next): Promise<Outcome> {
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
  ctx.services.enforcement.rateLimited(event);
  const detail = retryAfterMs === null ? 'this limit does not refill' : `retry after ${Math.ceil(retryAfterMs / 1000)} s`;
  throw new GatewayError('rateLimited', detail, { retry_after_ms: retryAfterMs, scope: verdict.scope, bucket: verdict.bucket });
}
