/**
 * Hot reload: the gateway's PolicyDecider, whose policy can be replaced while
 * it runs. A new version (folder change, bundle replaced, SIGHUP → reload())
 * is prepared off to the side (compiled, Rego tests run, signature checked)
 * and swapped in with one assignment; a version that fails any step never
 * replaces the running one, and the state says why.
 *
 * Events (for metrics and logs; no metric is registered here):
 *   'reload' (ReloadEvent) after every attempt, result 'success' | 'failure' | 'unchanged'.
 */
import { EventEmitter } from 'node:events';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import path from 'node:path';
import { currentRevision, preparePolicy, PolicyRejectedError } from './bundle/artifact.js';
import type { PolicyLocation, PrepareOptions } from './bundle/artifact.js';
import type { PolicyDecider, PolicyInput, RevisedDecision } from './engine/decision.js';
import type { PolicyEngine } from './engine/engine.js';

export interface ReloadEvent {
  result: 'success' | 'failure' | 'unchanged';
  /** The revision that was tried (undefined when it could not even be read). */
  revision?: string;
  /** Why it was refused (safe to log). */
  reason?: string;
  durationMs: number;
}

export interface ReloadState {
  running?: { revision: string; since: string };
  rejected?: { revision?: string; reason: string; at: string };
}

export interface ReloaderOptions extends PrepareOptions {
  /** Quiet period after the last file change before reloading. */
  debounceMs?: number;
}

const NO_POLICY = 'none';

export class PolicyReloader extends EventEmitter implements PolicyDecider {
  private engine: PolicyEngine | undefined;
  private current: ReloadState = {};
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** Reloads run one at a time; a request during one runs once more afterwards. */
  private inFlight: Promise<ReloadEvent> | undefined;
  private again = false;
  /** What was on disk (see currentRevision) when the running / last rejected policy was read. */
  private runningSource: string | undefined;
  private rejectedSource: string | undefined;

  constructor(readonly location: PolicyLocation, private readonly options: ReloaderOptions = {}) {
    super();
  }

  get revision(): string {
    return this.engine?.revision ?? NO_POLICY;
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
    let source: string | undefined;
    let event: ReloadEvent;
    try {
      source = currentRevision(this.location);
      if (source === this.runningSource || source === this.rejectedSource) {
        event = { result: 'unchanged', revision: this.revision, durationMs: Date.now() - started };
      } else {
        const prepared = await preparePolicy(this.location, this.options);
        this.engine = prepared.engine;
        this.runningSource = source;
        this.rejectedSource = undefined;
        this.current = { running: { revision: prepared.revision, since: new Date().toISOString() } };
        event = { result: 'success', revision: prepared.revision, durationMs: Date.now() - started };
      }
    } catch (err) {
      const reason = err instanceof Error ? err.message : 'unknown error';
      const revision = err instanceof PolicyRejectedError ? err.revision ?? source : source;
      this.rejectedSource = source;
      this.current = { ...this.current, rejected: { revision, reason, at: new Date().toISOString() } };
      event = { result: 'failure', reason, durationMs: Date.now() - started };
      if (revision !== undefined) event.revision = revision;
    }
    this.emit('reload', event);
    return event;
  }

  /** Reloads after changes to the folder (recursively) or to the bundle/module file. */
  watch(): void {
    if (this.watcher !== undefined) return;
    const folder = this.location.kind === 'folder';
    const dir = folder ? this.location.path : path.dirname(this.location.path);
    const file = path.basename(this.location.path);
    this.watcher = watch(dir, { recursive: folder, persistent: false }, (_type, name) => {
      if (!folder && name !== file) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload(), this.options.debounceMs ?? 200);
      this.debounce.unref();
    });
    this.watcher.on('error', (err) => {
      this.emit('watch-error', err);
    });
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
