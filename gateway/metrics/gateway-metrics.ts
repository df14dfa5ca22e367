/**
 * The gateway's Prometheus metrics: one prom-client Registry and a small
 * typed facade the pipeline calls. Every label value goes through a bounded
 * vocabulary, so /metrics can never grow without bound or echo input.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DETECTOR_KINDS } from '../sanitize/detectors.js';
import type { Findings } from '../sanitize/text.js';
import { BoundedLabel, NO_TOOL, OTHER, UNLISTED, cleanLabelValue, methodLabel } from './labels.js';
import { METRICS_DEFAULTS, type MetricsConfig } from './config.js';
import { PendingCounts } from './pending-counts.js';
import { ERRORS } from '../errors.js';
import { CHANGES } from '../policy/shadow/compare.js';

export type RequestDecision = 'allow' | 'deny' | 'hold' | 'error';
export type UpstreamOutcome = 'ok' | 'error' | 'timeout' | 'refused' | 'cancelled';
/** The tool a call names, and whether an upstream's tool catalog lists that name. */
export interface NamedTool {
  name: string;
  listed: boolean;
}

const DECISIONS = new Set<string>(['allow', 'deny', 'hold', 'error']);
const OUTCOMES = new Set<string>(['ok', 'error', 'timeout', 'refused', 'cancelled']);
const DETECTORS = new Set(DETECTOR_KINDS);
const RATE_SCOPES = new Set<string>(['agent', 'agent_tool', 'server']);
const HOLD_OUTCOMES = new Set<string>(['approved', 'denied', 'expired', 'cancelled']);
const PIN_EVENTS = new Set<string>(['pinned', 'quarantined', 'approved', 'reverted']);
const REFUSAL_REASONS = new Set<string>(Object.keys(ERRORS));
const SHADOW_RESULTS = new Set<string>(['agree', 'disagree', 'error']);
const SHADOW_CHANGES = new Set<string>(CHANGES);

function oneOf(allowed: ReadonlySet<string>, value: string): string {
  return allowed.has(value) ? value : OTHER;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly labels: Record<'server' | 'tool' | 'reason' | 'agent', BoundedLabel>;
  private readonly requests: Counter<'server' | 'method' | 'decision'>;
  private readonly decisionSeconds: Histogram;
  private readonly upstreamSeconds: Histogram<'server'>;
  private readonly upstreamCalls: Counter<'server' | 'outcome'>;
  private readonly denials: Counter<'server' | 'tool' | 'reason'>;
  private readonly agentDenials: Counter<'agent'>;
  private readonly redactionCount: Counter<'detector'>;
  private readonly upstreamUpGauge: Gauge<'server'>;
  private readonly upstreamLanesGauge: Gauge<'server'>;
  private readonly reloads: Counter<'result'>;
  private readonly revisionInfo: Gauge<'revision'>;
  private readonly auditRecords: Counter;
  private readonly auditErrors: Counter;
  private readonly auditAvailable: Gauge;
  private readonly stateAvailableGauge: Gauge;
  private readonly rateLimitedCount: Counter<'scope'>;
  private readonly holdsPending: Gauge;
  private readonly holdsTotal: Counter<'outcome'>;
  private readonly holdAgeSeconds: Histogram;
  private readonly pinEvents: Counter<'event'>;
  private readonly toolsQuarantined: Gauge;
  private readonly refusals: Counter<'reason'>;
  private readonly sessionsOpen: Gauge;
  private readonly shadowDecisions: Counter<'result'>;
  private readonly shadowDisagreements: Counter<'change' | 'reason'>;
  /** The two counters every call increments (see pending-counts.ts). */
  private readonly pendingRequests = new PendingCounts<'server' | 'method' | 'decision'>();
  private readonly pendingUpstreamCalls = new PendingCounts<'server' | 'outcome'>();
  /** Last value set per upstream_up series: every call reports it, it rarely changes. */
  private readonly upState = new Map<string, boolean>();

  constructor(config: Pick<MetricsConfig, 'process_metrics' | 'max_label_values'> = METRICS_DEFAULTS) {
    const limit = config.max_label_values;
    this.labels = {
      server: new BoundedLabel(limit),
      tool: new BoundedLabel(limit),
      reason: new BoundedLabel(limit),
      agent: new BoundedLabel(limit),
    };
    const registers = [this.registry];
    const pendingRequests = this.pendingRequests;
    this.requests = new Counter({
      name: 'portcullis_requests_total',
      help: 'MCP messages decided, by upstream server, method and decision.',
      labelNames: ['server', 'method', 'decision'],
      registers,
      collect() {
        pendingRequests.flushInto(this);
      },
    });
    this.decisionSeconds = new Histogram({
      name: 'portcullis_decision_duration_seconds',
      help: 'Time to evaluate the policy for one message.',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: 'portcullis_upstream_duration_seconds',
      help: 'Time from forwarding a call to its upstream answer.',
      labelNames: ['server'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const pendingUpstreamCalls = this.pendingUpstreamCalls;
    this.upstreamCalls = new Counter({
      name: 'portcullis_upstream_calls_total',
      help: 'Forwarded calls by upstream server and outcome (ok, error, timeout, refused, cancelled).',
      labelNames: ['server', 'outcome'],
      registers,
      collect() {
        pendingUpstreamCalls.flushInto(this);
      },
    });
    this.denials = new Counter({
      name: 'portcullis_denials_total',
      help: 'Denied calls by upstream server, tool and first policy reason.',
      labelNames: ['server', 'tool', 'reason'],
      registers,
    });
    this.agentDenials = new Counter({
      name: 'portcullis_agent_denials_total',
      help: 'Denied calls by agent (kept apart from server/tool/reason to bound cardinality).',
      labelNames: ['agent'],
      registers,
    });
    this.redactionCount = new Counter({
      name: 'portcullis_redactions_total',
      help: 'Secrets redacted and hostile characters neutralised, by detector.',
      labelNames: ['detector'],
      registers,
    });
    this.upstreamUpGauge = new Gauge({
      name: 'portcullis_upstream_up',
      help: '1 when the upstream server is connected and answering, else 0.',
      labelNames: ['server'],
      registers,
    });
    this.upstreamLanesGauge = new Gauge({
      name: 'portcullis_upstream_agent_connections',
      help: 'Connections an upstream has open for agents (isolation: per_agent): HTTP upstream sessions or stdio children.',
      labelNames: ['server'],
      registers,
    });
    this.reloads = new Counter({
      name: 'portcullis_policy_reloads_total',
      help: 'Policy bundle (re)loads by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    this.revisionInfo = new Gauge({
      name: 'portcullis_policy_revision_info',
      help: 'Always 1, labelled with the running policy revision.',
      labelNames: ['revision'],
      registers,
    });
    this.auditRecords = new Counter({
      name: 'portcullis_audit_records_total',
      help: 'Audit records written (decisions, outcomes, checkpoints, recoveries).',
      registers,
    });
    this.auditErrors = new Counter({
      name: 'portcullis_audit_write_errors_total',
      help: 'Audit write failures; each one fails the gateway closed until the log reopens.',
      registers,
    });
    this.auditAvailable = new Gauge({
      name: 'portcullis_audit_available',
      help: '1 while the audit trail accepts records; 0 while calls are refused.',
      registers,
    });
    this.stateAvailableGauge = new Gauge({
      name: 'portcullis_state_available',
      help: '1 while the state replicas share is usable (always with state.backend memory); 0 while Redis is out of reach and calls that need it are refused.',
      registers,
    });
    this.rateLimitedCount = new Counter({
      name: 'portcullis_rate_limited_total',
      help: 'Calls refused by a rate limit, by bucket scope (agent, agent_tool, server).',
      labelNames: ['scope'],
      registers,
    });
    this.holdsPending = new Gauge({
      name: 'portcullis_holds_pending',
      help: 'Calls waiting for a human approval now.',
      registers,
    });
    this.holdsTotal = new Counter({
      name: 'portcullis_holds_total',
      help: 'Holds by how they ended (approved, denied, expired, cancelled).',
      labelNames: ['outcome'],
      registers,
    });
    this.holdAgeSeconds = new Histogram({
      name: 'portcullis_hold_age_seconds',
      help: 'How long a held call waited for its outcome.',
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.pinEvents = new Counter({
      name: 'portcullis_pinning_events_total',
      help: 'Tool pinning events (pinned, quarantined, approved, reverted).',
      labelNames: ['event'],
      registers,
    });
    this.toolsQuarantined = new Gauge({
      name: 'portcullis_tools_quarantined',
      help: 'Tools hidden and uncallable until an operator approves their changed definition.',
      registers,
    });
    this.refusals = new Counter({
      name: 'portcullis_refusals_total',
      help: 'Attempts refused before the policy was asked (framing, sessions, params, Host, credentials), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.sessionsOpen = new Gauge({
      name: 'portcullis_sessions_open',
      help: 'Agent MCP sessions open on the gateway.',
      registers,
    });
    this.shadowDecisions = new Counter({
      name: 'portcullis_policy_shadow_decisions_total',
      help: 'Decisions of the shadow candidate policy compared with the live ones: agree, disagree, error (comparison or its audit record failed).',
      labelNames: ['result'],
      registers,
    });
    this.shadowDisagreements = new Counter({
      name: 'portcullis_policy_shadow_disagreements_total',
      help: 'Shadow candidate disagreements by change (newly_deny, newly_allow, hold_added, hold_removed) and first reason.',
      labelNames: ['change', 'reason'],
      registers,
    });
    this.holdsPending.set(0);
    this.toolsQuarantined.set(0);
    this.sessionsOpen.set(0);
    this.auditAvailable.set(1);
    this.auditRecords.inc(0);
    this.auditErrors.inc(0);
    if (config.process_metrics) collectDefaultMetrics({ register: this.registry });
  }

  request(r: { server: string; method: string; decision: RequestDecision }): void {
    const server = this.labels.server.value(r.server);
    const method = methodLabel(r.method);
    const decision = oneOf(DECISIONS, r.decision);
    // Label values never contain "\n" (labels.ts restricts their charset): the joined key is unambiguous.
    this.pendingRequests.add(`${server}\n${method}\n${decision}`, () => ({ server, method, decision }));
  }

  decisionDuration(seconds: number): void {
    this.decisionSeconds.observe(seconds);
  }

  upstreamCall(c: { server: string; outcome: UpstreamOutcome; seconds?: number }): void {
    const server = this.labels.server.value(c.server);
    const outcome = oneOf(OUTCOMES, c.outcome);
    this.pendingUpstreamCalls.add(`${server}\n${outcome}`, () => ({ server, outcome }));
    if (c.seconds !== undefined) this.upstreamSeconds.observe({ server }, c.seconds);
  }

  denial(d: { server: string; tool?: NamedTool; reasons: readonly string[]; agent: string }): void {
    this.denials.inc({
      server: this.labels.server.value(d.server),
      tool: this.toolLabel(d.tool),
      reason: this.labels.reason.value(d.reasons[0] ?? 'none'),
    });
    this.agentDenials.inc({ agent: this.labels.agent.value(d.agent) });
  }

  /** Only catalog names take a place in the tool label's budget; made-up names all count as one value. */
  private toolLabel(tool: NamedTool | undefined): string {
    if (tool === undefined) return NO_TOOL;
    return tool.listed ? this.labels.tool.value(tool.name) : UNLISTED;
  }

  redactions(found: Findings): void {
    for (const [detector, count] of Object.entries(found)) {
      if (count > 0) this.redactionCount.inc({ detector: oneOf(DETECTORS, detector) }, count);
    }
  }

  upstreamUp(server: string, up: boolean): void {
    const label = this.labels.server.value(server);
    if (this.upState.get(label) === up) return;
    this.upState.set(label, up);
    this.upstreamUpGauge.set({ server: label }, up ? 1 : 0);
  }

  upstreamLanes(server: string, open: number): void {
    this.upstreamLanesGauge.set({ server: this.labels.server.value(server) }, open);
  }

  policyReload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
  }

  /** Only the running revision is exported: the old series is dropped, not left at 0. */
  policyRevision(revision: string): void {
    this.revisionInfo.reset();
    this.revisionInfo.set({ revision: cleanLabelValue(revision) }, 1);
  }

  rateLimited(scope: string): void {
    this.rateLimitedCount.inc({ scope: oneOf(RATE_SCOPES, scope) });
  }

  /** A hold event: `pending` is the count after it; outcomes also record how long the call waited. */
  holdEvent(type: string, ageSeconds: number, pending: number): void {
    this.holdsPending.set(pending);
    if (!HOLD_OUTCOMES.has(type)) return;
    this.holdsTotal.inc({ outcome: type });
    this.holdAgeSeconds.observe(ageSeconds);
  }

  pinEvent(type: string, quarantined: number): void {
    this.pinEvents.inc({ event: oneOf(PIN_EVENTS, type) });
    this.toolsQuarantined.set(quarantined);
  }

  /** `reason`: the error registry's name of the answer. */
  refusal(reason: string): void {
    this.refusals.inc({ reason: oneOf(REFUSAL_REASONS, reason) });
  }

  /** A shadow candidate's answer compared with the live one (agree, disagree), or a comparison or its record that failed (error). */
  shadowDecision(result: 'agree' | 'disagree' | 'error'): void {
    this.shadowDecisions.inc({ result: oneOf(SHADOW_RESULTS, result) });
  }

  /** `reason`: the first reason of the side that refuses or holds (bounded like denial reasons). */
  shadowDisagreement(change: string, reason: string): void {
    this.shadowDisagreements.inc({ change: oneOf(SHADOW_CHANGES, change), reason: this.labels.reason.value(reason) });
  }

  sessions(open: number): void {
    this.sessionsOpen.set(open);
  }

  stateAvailable(available: boolean): void {
    this.stateAvailableGauge.set(available ? 1 : 0);
  }

  /** Hand to AuditLog.open({ observer }). */
  readonly auditObserver = {
    recordsWritten: (count: number): void => this.auditRecords.inc(count),
    writeFailed: (): void => this.auditErrors.inc(),
    availabilityChanged: (available: boolean): void => this.auditAvailable.set(available ? 1 : 0),
  };

  /** The exposition text and its content type, for whatever serves /metrics. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
