/**
 * Hold stage: a request whose decision asks for a hold waits here, before
 * anything reaches the upstream, until a person approves or denies it, it
 * times out (deny, or forward when the rule says `on_timeout: allow`), or the
 * agent goes away. Agents that asked for progress get periodic progress
 * notifications so their request stays alive.
 */
import { GatewayError } from '../errors.js';
import type { HeldCall } from '../holds/digest.js';
import { HoldError } from '../holds/errors.js';
import type { HoldOutcome, HoldRecord } from '../holds/types.js';
import type { MessageContext, Next, Outcome } from './context.js';

function waitForDecision(ctx: MessageContext, hold: HoldRecord, outcome: Promise<HoldOutcome>): Promise<HoldOutcome> {
  const { holds, holdProgressMs } = ctx.services.enforcement;
  const onAbort = (): void => holds.cancel(hold.id, 'the agent cancelled or disconnected');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();
  const progressToken = ctx.progressToken;
  let ticks = 0;
  const progress =
    progressToken === undefined
      ? undefined
      : setInterval(() => {
          ticks += 1;
          ctx.channel.notify('notifications/progress', { progressToken, progress: ticks, message: 'waiting for human approval' }, ctx.message.id);
        }, holdProgressMs);
  return outcome.finally(() => {
    ctx.signal.removeEventListener('abort', onAbort);
    if (progress !== undefined) clearInterval(progress);
  });
}

function refusal(outcome: Extract<HoldOutcome, { approved: false }>): GatewayError {
  switch (outcome.state) {
    case 'denied':
      return new GatewayError('holdDenied', outcome.hold.decision_reason);
    case 'expired':
      return new GatewayError('holdExpired');
    case 'cancelled':
      return new GatewayError('cancelled');
  }
}

/** Whether any decision that let the message through asks for a hold. */
function asksForHold(ctx: MessageContext): boolean {
  for (const decision of ctx.decisions?.values() ?? []) if (decision.hold !== undefined) return true;
  return false;
}

export function holdStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  return asksForHold(ctx) ? holdThenForward(ctx, next) : next();
}

async function holdThenForward(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  const decision = route?.kind === 'upstream' ? ctx.decisions?.get(route.server) : undefined;
  if (ctx.direction !== 'request' || ctx.message.kind !== 'request' || route?.kind !== 'upstream' || decision?.hold === undefined) {
    // Only an agent's request to one upstream can wait for a person; fail closed for anything else.
    throw new GatewayError('policyDenied', 'this message cannot be held for approval');
  }
  const { holds } = ctx.services.enforcement;
  // A tool call is bound by its arguments; any other request (resources/read, prompts/get...) by all its params.
  const bound = ctx.message.method === 'tools/call' ? route.params?.arguments : route.params;
  const call: HeldCall = { server: route.server, method: ctx.message.method, arguments: bound };
  if (route.tool !== undefined) call.tool = route.tool;

  let proposed: ReturnType<typeof holds.propose>;
  try {
    proposed = holds.propose({
      ...call,
      agent: { id: ctx.agent.id, name: ctx.agent.name },
      reasons: decision.reasons,
      revision: decision.revision,
      approvers: decision.hold.approvers,
      timeoutS: decision.hold.timeout_s,
      onTimeout: decision.hold.on_timeout ?? 'deny',
    });
  } catch (err) {
    if (err instanceof HoldError) throw new GatewayError('holdUnavailable');
    throw err;
  }
  ctx.holdId = proposed.hold.id;
  const outcome = await waitForDecision(ctx, proposed.hold, proposed.outcome);
  const forwardsOnExpiry = !outcome.approved && outcome.state === 'expired' && decision.hold.on_timeout === 'allow';
  if (!outcome.approved && !forwardsOnExpiry) throw refusal(outcome);
  try {
    holds.claim(proposed.hold.id, call, ctx.services.decider.revision);
  } catch (err) {
    if (err instanceof HoldError && err.reason === 'revision-mismatch') throw new GatewayError('approvalVoid');
    throw err;
  }
  const answer = await next();
  holds.returned(proposed.hold.id, answer.kind === 'result');
  return answer;
}
