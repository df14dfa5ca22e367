/**
 * Decide stage: asks the policy about the message. A deny answers with a
 * stable error and nothing is forwarded; a fan-out goes only to the servers
 * the policy allows.
 */
import { GatewayError } from '../errors.js';
import type { RevisedDecision } from '../policy/decision.js';
import type { MessageContext, Next, Outcome } from './context.js';
import { policyInput, routeSubject } from './policy-input.js';

function denied(decision: RevisedDecision | undefined): GatewayError {
  const reason = decision?.reasons.filter((r) => typeof r === 'string' && r !== '').join('; ');
  return new GatewayError('policyDenied', reason === '' ? undefined : reason);
}

export async function decideStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const decisions = new Map<string, RevisedDecision>();
  let firstDenial: RevisedDecision | undefined;
  for (const subject of routeSubject(ctx)) {
    const decision = ctx.services.decider.decide(policyInput(ctx, subject));
    if (decision.allow === true) decisions.set(subject.server, decision);
    else firstDenial ??= decision;
  }
  const route = ctx.route;
  if (route?.kind === 'fanout') {
    route.servers = route.servers.filter((server) => decisions.has(server));
    if (route.servers.length === 0 && firstDenial !== undefined) throw denied(firstDenial);
  } else if (firstDenial !== undefined || decisions.size === 0) {
    throw denied(firstDenial);
  }
  ctx.decisions = decisions;
  return next();
}
