/**
 * Shadow evaluation: the candidate policy of `policy.shadow` is asked about
 * every input the live policy decides, after the live decision and off the
 * message's path (the next turn of the event loop), so it adds no latency
 * and cannot change the answer. A disagreement (allow, hold or deny
 * differs) is counted in metrics by change and reason and recorded in the
 * audit trail as a `policy-shadow` event; anything that goes wrong in the
 * shadow is counted and logged, never thrown.
 */
import type { AuditTrail } from './context.js';
import type { GatewayMetrics } from '../metrics/index.js';
import { shadowSource } from '../policy/config.js';
import type { PolicyConfig } from '../policy/config.js';
import type { PolicyDecider, PolicyInput, RevisedDecision } from '../policy/engine/decision.js';
import { PolicyReloader } from '../policy/reload.js';
import type { ReloadEvent } from '../policy/reload.js';
import { changeBetween, changeReason, outcomeOf } from '../policy/shadow/compare.js';
import type { LogSink } from '../util/log.js';

export interface ShadowReports {
  metrics: GatewayMetrics;
  audit?: AuditTrail;
  log: LogSink;
}

/** What the shadow keeps of a message to compare later (the context lives on without it). */
interface Observed {
  input: PolicyInput;
  live: RevisedDecision;
  callId: string | undefined;
}

export class ShadowPolicy {
  constructor(
    /** The candidate; `loaded` false while it has never loaded (nothing is compared then). */
    private readonly candidate: PolicyDecider & { readonly loaded: boolean },
    private readonly reports: ShadowReports,
  ) {}

  /** Called by the decide stage with each input, the live decision on it and the call's audit id. */
  observe(input: PolicyInput, live: RevisedDecision, callId: string | undefined): void {
    if (!this.candidate.loaded) return;
    const observed: Observed = { input, live, callId };
    setImmediate(() => {
      try {
        this.compare(observed);
      } catch (err) {
        this.failed(err);
      }
    });
  }

  private compare({ input, live, callId }: Observed): void {
    const candidate = this.candidate.decide(input);
    const liveOutcome = outcomeOf(live);
    const candidateOutcome = outcomeOf(candidate);
    const change = changeBetween(liveOutcome, candidateOutcome);
    const { metrics, audit } = this.reports;
    if (change === undefined) {
      metrics.shadowDecision('agree');
      return;
    }
    metrics.shadowDecision('disagree');
    metrics.shadowDisagreement(change, changeReason(change, live.reasons, candidate.reasons));
    if (audit === undefined) return;
    const { message } = input;
    const details: Record<string, unknown> = {
      agent: input.agent.name,
      agent_id: input.agent.id,
      server: message.server,
      method: message.method,
      live: { decision: liveOutcome, revision: live.revision, reasons: live.reasons },
      candidate: { decision: candidateOutcome, revision: candidate.revision, reasons: candidate.reasons },
    };
    if (message.tool !== undefined) details.tool = message.tool;
    if (callId !== undefined) details.call_id = callId;
    audit.record({ type: 'event', control: 'policy-shadow', event: change, details }).catch((err: unknown) => this.failed(err));
  }

  private failed(err: unknown): void {
    this.reports.metrics.shadowDecision('error');
    this.reports.log('warn', 'shadow policy comparison failed', { error: err instanceof Error ? err.name : 'unknown' });
  }
}

/**
 * Loads the candidate of `policy.shadow`, when there is one, and keeps it
 * current (watched or polled like the live policy). A candidate that cannot
 * be found or does not load is logged, and compared with nothing until a
 * version of it does: the live policy runs on regardless.
 */
export async function startShadow(
  policy: PolicyConfig,
  resolve: (p: string) => string,
  reports: ShadowReports,
): Promise<{ reloader: PolicyReloader; shadow: ShadowPolicy } | undefined> {
  let configured;
  try {
    configured = shadowSource(policy, resolve);
  } catch (err) {
    reports.log('error', 'shadow policy not started', { reason: err instanceof Error ? err.message : 'unknown error' });
    return undefined;
  }
  if (configured === undefined) return undefined;
  const reloader = new PolicyReloader(configured.source, { ...configured.options, onFailure: () => undefined });
  reloader.on('reload', (event: ReloadEvent) => {
    if (event.result !== 'unchanged') reports.log(event.result === 'success' ? 'info' : 'error', `shadow policy reload ${event.result}`, { ...event });
  });
  await reloader.reload();
  reloader.watch();
  return { reloader, shadow: new ShadowPolicy(reloader, reports) };
}
