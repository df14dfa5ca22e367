/**
 * Hold stage: a request whose decision asks for a hold reaches no upstream
 * until a person approves it. In wait mode (holds.mode) the request waits
 * here until a person approves or denies it, it times out (deny, or forward
 * when the rule says `on_timeout: allow`), or the agent goes away; agents
 * that asked for progress get periodic progress notifications so their
 * request stays alive. An approved tool call meets the pins once more
 * before it goes out: the tool may have changed while a person decided. In
 * retry mode the agent is answered at once with the hold id, and the
 * approval lets its identical retry through once (that retry passed the
 * pins on its way here, like any call).
 */
import { GatewayError } from '../errors.js';
import type { HeldCall } from '../holds/digest.js';
import { HoldError } from '../holds/errors.js';
import type { HoldProposal } from '../holds/store.js';
import type { HoldOutcome, HoldRecord } from '../holds/types.js';
import type { MessageContext, Next, Outcome } from './context.js';
import { confirmPinned } from './pin-tools.js';

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

/** The agent's answer when the hold store refuses: no room for another hold, an approval voided by a policy change, or shared holds out of reach. */
function storeRefusal(err: unknown): unknown {
  if (!(err instanceof HoldError)) return err;
  if (err.reason === 'state-unavailable') return new GatewayError('stateUnavailable', 'holds are shared and cannot be reached');
  return err.reason === 'revision-mismatch' ? new GatewayError('approvalVoid') : new GatewayError('holdUnavailable');
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
  // A tool call is bound by its arguments; any other request (resources/read, prompts/get...) by all its params.
  const bound = ctx.message.method === 'tools/call' ? route.params?.arguments : route.params;
  const call: HeldCall = { server: route.server, method: ctx.message.method, arguments: bound };
  if (route.tool !== undefined) call.tool = route.tool;
  const proposal: HoldProposal = {
    ...call,
    agent: { id: ctx.agent.id, name: ctx.agent.name },
    reasons: decision.reasons,
    revision: decision.revision,
    approvers: decision.hold.approvers,
    timeoutS: decision.hold.timeout_s,
    onTimeout: decision.hold.on_timeout ?? 'deny',
  };
  return ctx.services.enforcement.holds.mode === 'retry' ? answerRetry(ctx, next, proposal) : waitThenForward(ctx, next, proposal);
}

async function waitThenForward(ctx: MessageContext, next: Next, proposal: HoldProposal): Promise<Outcome> {
  const { holds } = ctx.services.enforcement;
  let proposed: ReturnType<typeof holds.propose>;
  try {
    proposed = holds.propose(proposal);
  } catch (err) {
    throw storeRefusal(err);
  }
  ctx.holdId = proposed.hold.id;
  const outcome = await waitForDecision(ctx, proposed.hold, proposed.outcome).catch((err: unknown) => {
    throw storeRefusal(err);
  });
  const forwardsOnExpiry = !outcome.approved && outcome.state === 'expired' && proposal.onTimeout === 'allow';
  if (!outcome.approved && !forwardsOnExpiry) throw refusal(outcome);
  // The approval is for the tool as it was when the call was held: before it is consumed, the pins once more.
  await confirmPinned(ctx);
  try {
    holds.claim(proposed.hold.id, proposal, ctx.services.decider.revision);
  } catch (err) {
    throw storeRefusal(err);
  }
  return forwardHeld(ctx, next, proposed.hold.id);
}

/** Retry mode: nothing waits here; the call is held (answered with the hold id), refused, or consumes its approval. */
async function answerRetry(ctx: MessageContext, next: Next, proposal: HoldProposal): Promise<Outcome> {
  const { holds } = ctx.services.enforcement;
  let answer: ReturnType<typeof holds.retry>;
  try {
    answer = holds.retry(proposal);
  } catch (err) {
    throw storeRefusal(err);
  }
  ctx.holdId = answer.hold.id;
  switch (answer.kind) {
    case 'held':
      throw new GatewayError('holdPending', `hold ${answer.hold.id}`, { hold_id: answer.hold.id, expires_at: answer.hold.expires_at });
    case 'denied':
      throw new GatewayError('holdDenied', answer.hold.decision_reason);
    case 'approved':
      return forwardHeld(ctx, next, answer.hold.id);
  }
}

/** Forwards a call whose approval was just consumed, and records how the upstream answered. */
async function forwardHeld(ctx: MessageContext, next: Next, holdId: string): Promise<Outcome> {
  const answer = await next();
  ctx.services.enforcement.holds.returned(holdId, answer.kind === 'result');
  return answer;
}
