/**
 * Validate-arguments stage: tools/call arguments must match the pinned input
 * schema before the policy sees them; invalid calls get -32602 and are never
 * forwarded.
 */
import { GatewayError } from '../errors.js';
import type { MessageContext, Next, Outcome } from './context.js';

export function validateArgumentsStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (ctx.direction === 'request' && ctx.message.method === 'tools/call' && route?.kind === 'upstream' && route.tool !== undefined) {
    const { pins, validator } = ctx.services.enforcement;
    const pinned = pins.pinned(route.server, route.tool);
    // The pin-tools stage already refused anything but the pinned definition; this stays fail-closed on its own.
    if (pinned === undefined) throw new GatewayError('toolNotListed', route.tool);
    const verdict = validator.validate(pinned.hash, pinned.definition.inputSchema, route.params?.arguments);
    if (!verdict.valid) throw new GatewayError('invalidParams', verdict.problems[0], { problems: verdict.problems });
  }
  return next();
}
