/**
 * Decide stage: asks the policy about the message. A deny answers with a
 * stable error and nothing is forwarded; a fan-out goes only to the servers
 * the policy allows. The verdict is kept on the context for audit and metrics,
 * and an allowed one is on record (audit stage) before the message goes on.
 * A shadow candidate (policy.shadow) is shown each input and decision; it
 * never changes them.
 */
import { GatewayError } from '../errors.js';
import type { PolicyInput, RevisedDecision } from '../policy/engine/decision.js';
import type { MessageContext, Next, Outcome, Verdict } from './context.js';
import { policyInput, routeSubject } from './policy-input.js';

function denied(decision: RevisedDecision | undefined): GatewayError {
  const reason = decision?.reasons.filter((r) => typeof r === 'string' && r !== '').join('; ');
  return new GatewayError('policyDenied', reason === '' ? undefined : reason);
}

/**
 * Asks the policy for every server the message goes to, records the verdict
 * on the context, and throws the denial when the message may go nowhere.
 * Returns the allowing decisions by server.
 */
export function evaluatePolicy(ctx: MessageContext): Map<string, RevisedDecision> {
  const started = performance.now();
  const decisions = new Map<string, RevisedDecision>();
  let firstDenial: RevisedDecision | undefined;
  let denialInput: PolicyInput | undefined;
  let allowInput: PolicyInput | undefined;
  for (const subject of routeSubject(ctx)) {
    const input = policyInput(ctx, subject);
    const decision = ctx.services.decider.decide(input);
    ctx.services.shadow?.observe(input, decision, ctx.callId);
    if (decision.allow === true) {
      decisions.set(subject.server, decision);
      allowInput ??= input;
    } else if (firstDenial === undefined) {
      firstDenial = decision;
      denialInput = input;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const route = ctx.route;
  const refused = route?.kind === 'fanout' ? decisions.size === 0 && firstDenial !== undefined : firstDenial !== undefined || decisions.size === 0;
  const deciding = refused ? firstDenial : decisions.values().next().value;
  const verdict: Verdict = {
    decision: refused ? 'deny' : deciding?.hold !== undefined ? 'hold' : 'allow',
    reasons: deciding?.reasons ?? ['no policy decision'],
    revision: deciding?.revision ?? ctx.services.decider.revision,
    seconds,
  };
  const decidingInput = refused ? denialInput : allowInput;
  if (decidingInput !== undefined) verdict.input = decidingInput;
  if (deciding?.redact !== undefined) verdict.redact = deciding.redact;
  if (deciding?.classification !== undefined) verdict.classification = deciding.classification;
  ctx.verdict = verdict;
  if (refused) throw denied(firstDenial);
  if (route?.kind === 'fanout') route.servers = route.servers.filter((server) => decisions.has(server));
  return decisions;
}

export function decideStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  ctx.decisions = evaluatePolicy(ctx);
  // Write-ahead: an allowed message's decision is on record before rate limit, hold and forward.
  const recording = ctx.recordDecision?.();
  return recording === undefined ? next() : recording.then(next);
}
