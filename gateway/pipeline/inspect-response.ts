/**
 * Inspect-response stage: tool results are asked of the policy too (direction
 * `response`, kind `result`). A deny withholds the result behind an error; a
 * `redact` list masks secrets and named fields before the agent sees them.
 * Server-to-client messages were decided on their way in (decide stage); their
 * decision's `redact` list masks their params the same way.
 */
import { GatewayError } from '../errors.js';
import type { Params } from '../protocol/jsonrpc.js';
import type { MessageContext, Next, Outcome, Route } from './context.js';
import { maskResult } from './mask-result.js';
import { toolResultInput } from './policy-input.js';

function mask<T>(ctx: MessageContext, server: string, value: T, redact: readonly string[] | undefined): T {
  if (redact === undefined || redact.length === 0) return value;
  const masked = maskResult(value, redact);
  if (Object.keys(masked.found).length > 0) {
    const event = { server, found: masked.found, ...(ctx.route?.kind === 'upstream' && ctx.route.tool ? { tool: ctx.route.tool } : {}) };
    ctx.services.enforcement.redacted(event);
  }
  return masked.value;
}

export function inspectResponseStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (ctx.direction === 'response') {
    if (route?.kind === 'agent' && ctx.message.params !== undefined) {
      ctx.message.params = mask(ctx, route.server, ctx.message.params, ctx.decisions?.get(route.server)?.redact);
    }
    return next();
  }
  return ctx.message.method === 'tools/call' && route?.kind === 'upstream' ? inspectToolResult(ctx, route, next) : next();
}

async function inspectToolResult(ctx: MessageContext, route: Extract<Route, { kind: 'upstream' }>, next: Next): Promise<Outcome> {
  const outcome = await next();
  if (outcome.kind !== 'result') return outcome;
  const decision = ctx.services.decider.decide(toolResultInput(ctx, route.server, route.tool, outcome.result));
  if (!decision.allow) {
    ctx.services.enforcement.redacted({ server: route.server, ...(route.tool ? { tool: route.tool } : {}), found: {}, blocked: true });
    const reason = decision.reasons.filter((r) => r !== '').join('; ');
    throw new GatewayError('responseBlocked', reason === '' ? undefined : reason);
  }
  return { kind: 'result', result: mask<Params>(ctx, route.server, outcome.result, decision.redact) };
}
