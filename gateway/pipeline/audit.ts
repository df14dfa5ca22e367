/**
 * Audit stage: evidence for every message that goes to an upstream (and every
 * upstream request to the agent): the audit trail, the request/decision/
 * upstream metrics and one brief log line per decision. It wraps the rest of
 * the pipeline: the decision record is written the moment the decide stage
 * allows (through ctx.recordDecision, before rate limit, hold and forward), a
 * denial's on the way back, and the outcome record after the answer. When the
 * audit trail cannot record, the call is refused, never forwarded.
 */
import { randomUUID } from 'node:crypto';
import { AuditUnavailableError, type AuditAgent, type AuditEvent, type DecisionEvent, type OutcomeEvent } from '../audit/index.js';
import { ERRORS, GatewayError } from '../errors.js';
import type { UpstreamOutcome } from '../metrics/index.js';
import { isPlainObject } from '../policy/engine/strict-json.js';
import { CALL_ID_KEY } from '../protocol/call-id.js';
import type { AuditTrail, MessageContext, Next, Outcome } from './context.js';
import { errorOutcome } from './run.js';
import { recordedInput } from './recorded-input.js';

/**
 * The upstream a message is on record for: every agent message that goes
 * upstream, notifications included (nothing reaches an upstream without its
 * decision on disk), "*" for a fan-out; and an upstream's request to the
 * agent (sampling, elicitation, roots), whose answer goes back upstream.
 */
function serverOf(ctx: MessageContext): string | undefined {
  const route = ctx.route;
  if (ctx.direction === 'response') return ctx.message.kind === 'request' && route?.kind === 'agent' ? route.server : undefined;
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
function callFields(ctx: MessageContext, server: string): CallFields {
  const route = ctx.route;
  const fields: CallFields = {
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

type CallFields = Omit<OutcomeEvent, 'type' | 'outcome' | 'latency_ms' | 'error'>;

/** Writes one record; a trail that cannot write refuses the call. */
async function record(audit: AuditTrail, event: AuditEvent): Promise<void> {
  try {
    await audit.record(event);
  } catch (err) {
    if (err instanceof AuditUnavailableError) throw new GatewayError('auditUnavailable');
    throw err;
  }
}

/** The tool a call names, for records and metrics. */
function toolOf(ctx: MessageContext): string | undefined {
  return ctx.route?.kind === 'upstream' ? ctx.route.tool : undefined;
}

/**
 * Logs (and, with an audit trail, records) the policy's verdict on this call,
 * once. Without a trail there is nothing to wait for (undefined) and no
 * record is built that no one reads.
 */
function recordDecision(ctx: MessageContext, server: string): Promise<void> | undefined {
  const verdict = ctx.verdict;
  if (verdict === undefined || verdict.recorded === true) return undefined;
  verdict.recorded = true;
  const { method } = ctx.message;
  const { decision, reasons, revision } = verdict;
  const tool = toolOf(ctx);
  const line =
    tool === undefined
      ? { agent: ctx.agent.id, server, method, decision, reasons, revision }
      : { agent: ctx.agent.id, server, method, tool, decision, reasons, revision };
  ctx.services.log('info', 'decision', line);
  const audit = ctx.services.audit;
  if (audit === undefined) return undefined;
  const route = ctx.route;
  const args = route?.kind === 'upstream' ? (method === 'tools/call' ? route.params?.arguments : route.params) : ctx.message.params;
  const event: DecisionEvent = { ...callFields(ctx, server), type: 'decision', decision, reasons, revision, latency_ms: { decision: verdict.seconds * 1000 } };
  if (args !== undefined) event.arguments = args;
  if (verdict.redact !== undefined) event.redact = verdict.redact;
  if (verdict.classification !== undefined) event.classification = verdict.classification;
  if (verdict.input !== undefined) Object.assign(event, recordedInput(verdict.input));
  return record(audit, event);
}

/** How an allowed call ended, from the agent's answer and whether the upstream was reached. */
function outcomeOf(ctx: MessageContext, outcome: Outcome): UpstreamOutcome {
  if (outcome.kind !== 'error') return 'ok';
  if (outcome.error.code === ERRORS.upstreamTimeout.code) return 'timeout';
  if (outcome.error.code === ERRORS.cancelled.code) return 'cancelled';
  return ctx.upstreamSeconds === undefined ? 'refused' : 'error';
}

/** The outcome record of an allowed call; a failed write is logged (the trail then refuses the next calls). */
async function recordOutcome(ctx: MessageContext, audit: AuditTrail, server: string, outcome: Outcome, result: UpstreamOutcome): Promise<void> {
  const latency: OutcomeEvent['latency_ms'] = { total: performance.now() - ctx.receivedAt };
  if (ctx.upstreamSeconds !== undefined) latency.upstream = ctx.upstreamSeconds * 1000;
  const event: OutcomeEvent = { ...callFields(ctx, server), type: 'outcome', outcome: result, latency_ms: latency };
  if (outcome.kind === 'error') event.error = { code: outcome.error.code, message: outcome.error.message };
  try {
    await record(audit, event);
  } catch {
    // The call already happened and its decision is on record; the trail's failure refuses the next ones.
    ctx.services.log('error', 'audit outcome record not written', { server, method: ctx.message.method });
  }
}

/**
 * Tells the agent the call id its records carry: in the result's `_meta`, or
 * in the error's `data` (an upstream's data that is not an object is left as
 * it is). Only on the agent's answer, never on anything that goes upstream;
 * a call id an upstream wrote there itself is replaced.
 */
function withCallId(ctx: MessageContext, outcome: Outcome): Outcome {
  const callId = ctx.callId;
  if (callId === undefined || ctx.direction !== 'request' || ctx.message.kind !== 'request') return outcome;
  if (outcome.kind === 'result') {
    const meta = isPlainObject(outcome.result._meta) ? outcome.result._meta : {};
    return { kind: 'result', result: { ...outcome.result, _meta: { ...meta, [CALL_ID_KEY]: callId } } };
  }
  if (outcome.kind === 'error') {
    const data = outcome.error.data;
    if (data === undefined) return { kind: 'error', error: { ...outcome.error, data: { [CALL_ID_KEY]: callId } } };
    if (isPlainObject(data)) return { kind: 'error', error: { ...outcome.error, data: { ...data, [CALL_ID_KEY]: callId } } };
  }
  return outcome;
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
  if (audit !== undefined) ctx.callId = randomUUID();
  ctx.recordDecision = () => recordDecision(ctx, server);
  let outcome: Outcome;
  try {
    outcome = await next();
  } catch (err) {
    outcome = errorOutcome(err, ctx);
  }
  const { method } = ctx.message;
  const verdict = ctx.verdict;
  if (verdict === undefined) {
    // Refused before the policy was asked (invalid arguments, unlisted tool): no decision to record.
    metrics.request({ server, method, decision: 'error' });
    return outcome;
  }
  metrics.request({ server, method, decision: verdict.decision });
  metrics.decisionDuration(verdict.seconds);
  // Denials (and allowed calls refused before the decide stage, e.g. by pinning) are recorded here.
  const recording = recordDecision(ctx, server);
  if (recording !== undefined) await recording;
  if (verdict.decision === 'deny') {
    const name = toolOf(ctx);
    const denial = { server, reasons: verdict.reasons, agent: ctx.agent.name };
    // ctx.tool is set only for a name the upstream's catalog lists (describe-tool stage).
    metrics.denial(name === undefined ? denial : { ...denial, tool: { name, listed: ctx.tool !== undefined } });
    return withCallId(ctx, outcome);
  }
  const result = outcomeOf(ctx, outcome);
  if (ctx.route?.kind === 'upstream') {
    const seconds = ctx.upstreamSeconds;
    metrics.upstreamCall(seconds === undefined ? { server, outcome: result } : { server, outcome: result, seconds });
    metrics.upstreamUp(server, ctx.services.upstreams.get(server)?.up === true);
  }
  if (audit !== undefined) await recordOutcome(ctx, audit, server, outcome, result);
  return withCallId(ctx, outcome);
}
