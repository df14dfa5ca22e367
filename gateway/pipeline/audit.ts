/**
 * Evidence for every agent request that goes to an upstream: the audit
 * trail (decision record before forwarding, outcome record after), the
 * request/decision/upstream metrics and one brief log line per decision.
 * When the audit trail cannot record, the call is refused, never forwarded.
 */
import { randomUUID } from 'node:crypto';
import { AuditUnavailableError, type AuditAgent, type AuditEvent, type OutcomeEvent } from '../audit/index.js';
import { ERRORS, GatewayError } from '../errors.js';
import type { UpstreamOutcome } from '../metrics/index.js';
import type { MessageContext, Next, Outcome } from './context.js';
import { errorOutcome } from './run.js';

/** The upstream a call goes to, or "*" for a fan-out to every allowed upstream. */
function serverOf(ctx: MessageContext): string | undefined {
  const route = ctx.route;
  if (ctx.direction !== 'request' || ctx.message.kind !== 'request') return undefined;
  if (route?.kind === 'upstream') return route.server;
  if (route?.kind === 'fanout') return '*';
  return undefined;
}

function auditAgent(ctx: MessageContext): AuditAgent {
  const agent: AuditAgent = { id: ctx.agent.id, auth: ctx.agent.auth };
  if (ctx.agent.cert !== undefined) agent.cert_serial = ctx.agent.cert.serial;
  return agent;
}

/** The fields every record of this call shares. */
function callFields(ctx: MessageContext, server: string): Omit<OutcomeEvent, 'type' | 'outcome' | 'latency_ms'> {
  const route = ctx.route;
  const fields: Omit<OutcomeEvent, 'type' | 'outcome' | 'latency_ms'> = {
    call_id: ctx.callId ?? randomUUID(),
    agent: auditAgent(ctx),
    server,
    method: ctx.message.method,
  };
  if (ctx.channel.sessionId !== undefined) fields.session = ctx.channel.sessionId;
  if (route?.kind === 'upstream' && route.tool !== undefined) fields.tool = route.tool;
  if (ctx.holdId !== undefined) fields.hold_id = ctx.holdId;
  return fields;
}

/** Writes one record; a trail that cannot write refuses the call. */
async function record(ctx: MessageContext, event: AuditEvent): Promise<void> {
  try {
    await ctx.services.audit?.record(event);
  } catch (err) {
    if (err instanceof AuditUnavailableError) throw new GatewayError('auditUnavailable');
    throw err;
  }
}

/** Records (and logs) the policy's verdict on this call. */
async function recordDecision(ctx: MessageContext, server: string): Promise<void> {
  const verdict = ctx.verdict;
  if (verdict === undefined || verdict.recorded === true) return;
  verdict.recorded = true;
  const fields = callFields(ctx, server);
  ctx.services.log('info', 'decision', {
    agent: fields.agent.id,
    server,
    method: fields.method,
    ...(fields.tool === undefined ? {} : { tool: fields.tool }),
    decision: verdict.decision,
    reasons: verdict.reasons,
    revision: verdict.revision,
  });
  const route = ctx.route;
  const args = route?.kind === 'upstream' ? (ctx.message.method === 'tools/call' ? route.params?.arguments : route.params) : ctx.message.params;
  await record(ctx, {
    ...fields,
    type: 'decision',
    ...(args === undefined ? {} : { arguments: args }),
    ...(verdict.redact === undefined ? {} : { redact: verdict.redact }),
    ...(verdict.classification === undefined ? {} : { classification: verdict.classification }),
    decision: verdict.decision,
    reasons: verdict.reasons,
    revision: verdict.revision,
    latency_ms: { decision: verdict.seconds * 1000 },
  });
}

/** How an allowed call ended, from the agent's answer and whether the upstream was reached. */
function outcomeOf(ctx: MessageContext, outcome: Outcome): UpstreamOutcome {
  if (outcome.kind !== 'error') return 'ok';
  if (outcome.error.code === ERRORS.upstreamTimeout.code) return 'timeout';
  if (outcome.error.code === ERRORS.cancelled.code) return 'cancelled';
  return ctx.upstreamSeconds === undefined ? 'refused' : 'error';
}

export async function auditStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const server = serverOf(ctx);
  if (server === undefined) return next();
  const { audit, metrics } = ctx.services;
  try {
    audit?.check();
  } catch (err) {
    if (err instanceof AuditUnavailableError) {
      ctx.services.log('error', 'audit trail unavailable: call refused', { reason: err.reason });
      throw new GatewayError('auditUnavailable');
    }
    throw err;
  }
  ctx.callId = randomUUID();
  let outcome: Outcome;
  try {
    outcome = await next();
  } catch (err) {
    outcome = errorOutcome(err, ctx);
  }
  const verdict = ctx.verdict;
  if (verdict === undefined) {
    // Refused before the policy was asked (invalid arguments, unlisted tool): no decision to record.
    metrics.request({ server, method: ctx.message.method, decision: 'error' });
    return outcome;
  }
  metrics.request({ server, method: ctx.message.method, decision: verdict.decision });
  metrics.decisionDuration(verdict.seconds);
  // Denials (and allowed calls refused before the decision stage) are recorded here.
  await recordDecision(ctx, server);
  if (verdict.decision === 'deny') {
    const tool = ctx.route?.kind === 'upstream' ? ctx.route.tool : undefined;
    metrics.denial({ server, ...(tool === undefined ? {} : { tool }), reasons: verdict.reasons, agent: ctx.agent.name });
    return outcome;
  }
  const result = outcomeOf(ctx, outcome);
  if (ctx.route?.kind === 'upstream') {
    metrics.upstreamCall({ server, outcome: result, ...(ctx.upstreamSeconds === undefined ? {} : { seconds: ctx.upstreamSeconds }) });
    metrics.upstreamUp(server, ctx.services.upstreams.get(server)?.health().state === 'ready');
  }
  const event: OutcomeEvent = {
    ...callFields(ctx, server),
    type: 'outcome',
    outcome: result,
    latency_ms: {
      ...(ctx.upstreamSeconds === undefined ? {} : { upstream: ctx.upstreamSeconds * 1000 }),
      total: Number(process.hrtime.bigint() - ctx.receivedAt) / 1e6,
    },
  };
  if (outcome.kind === 'error') event.error = { code: outcome.error.code, message: outcome.error.message };
  try {
    await record(ctx, event);
  } catch {
    // The call already happened and its decision is on record; the trail's failure refuses the next ones.
    ctx.services.log('error', 'audit outcome record not written', { server, method: ctx.message.method });
  }
  return outcome;
}

/** Right after the policy allowed: the decision is on record before anything goes on. */
export async function auditDecisionStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const server = serverOf(ctx);
  if (server !== undefined) await recordDecision(ctx, server);
  return next();
}
