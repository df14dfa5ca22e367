/**
 * Hot reload: the gateway's PolicyDecider, whose policy can be replaced while
 * it runs. A new version (folder change, bundle replaced, new git commit,
 * SIGHUP → reload()) is prepared off to the side (compiled, Rego tests run,
 * signature checked) and swapped in with one assignment; a version that fails any step never
 * replaces the running one, and the state says why.
 *
 * Events (for metrics and logs; no metric is registered here):
 *   'reload' (ReloadEvent) after every attempt, result 'success' | 'failure' | 'unchanged'.
 */
import { EventEmitter } from 'node:events';
import { PolicyRejectedError } from './bundle/artifact.js';
import type { PolicyLocation, PrepareOptions } from './bundle/artifact.js';
import type { PolicyDecider, PolicyInput, RevisedDecision } from './engine/decision.js';
import type { PolicyEngine } from './engine/engine.js';
import { fileSource } from './source/source.js';
import type { PolicyOrigin, PolicySource } from './source/source.js';

export interface ReloadEvent {
  result: 'success' | 'failure' | 'unchanged';
  /** The revision that was tried (undefined when it could not even be read). */
  revision?: string;
  /** Why it was refused (safe to log). */
  reason?: string;
  durationMs: number;
}

export interface ReloadState {
  running?: { revision: string; since: string; origin: PolicyOrigin };
  rejected?: { revision?: string; reason: string; at: string; origin?: PolicyOrigin };
}

export interface ReloaderOptions extends PrepareOptions {
  /** Quiet period after the last file change before reloading (file sources). */
  debounceMs?: number;
}

const NO_POLICY = 'none';

/** What `portcullis policy status` reads: the live policy's state and the shadow candidate's. */
export interface PolicyStatus {
  written_at: string;
  pid: number;
  live: ReloadState;
  shadow?: ReloadState;
}

export class PolicyReloader extends EventEmitter implements PolicyDecider {
  private engine: PolicyEngine | undefined;
  private current: ReloadState = {};
  readonly source: PolicySource;
  /** Reloads run one at a time; a request during one runs once more afterwards. */
  private inFlight: Promise<ReloadEvent> | undefined;
  private again = false;
  /** Identity (see PolicyVersion.id) of the running / last rejected version. */
  private runningSource: string | undefined;
  private rejectedSource: string | undefined;

  /** A folder, bundle or module on disk (watched), or any other source (e.g. git, polled). */
  constructor(source: PolicyLocation | PolicySource, private readonly options: ReloaderOptions = {}) {
    super();
    this.source = 'latest' in source ? source : fileSource(source, options.debounceMs);
  }

  get revision(): string {
    return this.engine?.revision ?? NO_POLICY;
  }

  /** True once a policy runs (a shadow whose candidate never loaded is not asked). */
  get loaded(): boolean {
    return this.engine !== undefined;
  }

  decide(input: PolicyInput): RevisedDecision {
    if (this.engine === undefined) return { allow: false, reasons: ['no policy loaded'], revision: NO_POLICY };
    return this.engine.decide(input);
  }

  state(): ReloadState {
    return { ...this.current };
  }

  /** "running revision X, rejected revision Y because …" for the readiness endpoint. */
  describe(): string {
    const parts = [this.current.running ? `running revision ${this.current.running.revision}` : 'no policy running'];
    const rejected = this.current.rejected;
    if (rejected) parts.push(`rejected revision ${rejected.revision ?? 'unknown'} because ${rejected.reason}`);
    return parts.join(', ');
  }

  /** Loads the policy for the first time; throws PolicyRejectedError when it cannot run. */
  async start(): Promise<void> {
    const event = await this.reload();
    if (event.result === 'failure') throw new PolicyRejectedError(event.reason ?? 'policy rejected', event.revision);
  }

  /** Prepares the policy on disk and swaps it in if it passes every check. */
  reload(): Promise<ReloadEvent> {
    if (this.inFlight !== undefined) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = this.attempt().finally(() => {
      this.inFlight = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.inFlight;
  }

  private async attempt(): Promise<ReloadEvent> {
    const started = Date.now();
    let id: string | undefined;
    let origin: PolicyOrigin | undefined;
    let event: ReloadEvent;
    try {
      const version = await this.source.latest();
      ({ id, origin } = version);
      if (id === this.runningSource || id === this.rejectedSource) {
        event = { result: 'unchanged', revision: this.revision, durationMs: Date.now() - started };
      } else {
        const prepared = await version.prepare(this.options);
        this.engine = prepared.engine;
        this.runningSource = id;
        this.rejectedSource = undefined;
        this.current = { running: { revision: prepared.revision, since: new Date().toISOString(), origin } };
        event = { result: 'success', revision: prepared.revision, durationMs: Date.now() - started };
      }
    } catch (err) {
      const reason = err instanceof Error ? err.message : 'unknown error';
      const revision = err instanceof PolicyRejectedError ? err.revision ?? id : id;
      // A source that could not be read (git fetch failed) is tried again at the next poll.
      if (id !== undefined) this.rejectedSource = id;
      const rejected: NonNullable<ReloadState['rejected']> = { revision, reason, at: new Date().toISOString() };
      if (origin !== undefined) rejected.origin = origin;
      this.current = { ...this.current, rejected };
      event = { result: 'failure', reason, durationMs: Date.now() - started };
      if (revision !== undefined) event.revision = revision;
    }
    this.emit('reload', event);
    return event;
  }

  /** Reloads when the source may have changed (folder or file change, git poll). */
  watch(): void {
    this.source.watch(() => void this.reload());
  }

  close(): void {
    this.source.close();
  }
}

export function policyStatus(live: PolicyReloader, shadow?: PolicyReloader): PolicyStatus {
  const status: PolicyStatus = { written_at: new Date().toISOString(), pid: process.pid, live: live.state() };
  if (shadow !== undefined) status.shadow = shadow.state();
  return status;
}
