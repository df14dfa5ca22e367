/**
 * Accounting for attempts refused before the policy was asked (bad framing,
 * unknown sessions, invalid params, foreign Host, missing credentials...).
 * Each refusal is counted; it is also written as a compact audit `event`
 * record (who, from where, which stable reason, never the body), bounded so
 * a flood cannot fill the disk: per source and reason, the first `burst`
 * refusals of a window are written one by one and the rest as one summary
 * record when the window closes.
 */
import type { AuditLog } from './writer.js';

export interface Refusal {
  /** Stable reason: the error registry's name for the answer given. */
  reason: string;
  /** The JSON-RPC error code answered. */
  code: number;
  /** The agent's identity when it was established before the refusal. */
  agent?: string;
  /** The peer address: the only source there is before authentication. */
  remote?: string;
  method?: string;
  server?: string;
  session?: string;
}

export interface RefusalRecorderOptions {
  /** Refusals written one by one per source and reason in each window. */
  burst: number;
  windowMs: number;
  /** Distinct sources × reasons tracked per window; refusals beyond go into one overflow summary. */
  maxKeys: number;
}

export const REFUSAL_DEFAULTS: RefusalRecorderOptions = { burst: 5, windowMs: 1000, maxKeys: 1024 };

/** Longest method, server or session name kept in a record: refused input is not evidence worth its bytes. */
const MAX_NAME = 64;

interface WindowCount {
  reason: string;
  source: { agent?: string; remote?: string };
  written: number;
  suppressed: number;
}

const OVERFLOW = '\u0000overflow';

export class RefusalRecorder {
  private window = new Map<string, WindowCount>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly audit: AuditLog | undefined,
    private readonly count: (reason: string) => void,
    private readonly onWriteFailure: () => void,
    private readonly options: RefusalRecorderOptions = REFUSAL_DEFAULTS,
  ) {
    this.timer = setInterval(() => this.closeWindow(), options.windowMs);
    this.timer.unref();
  }

  refuse(refusal: Refusal): void {
    this.count(refusal.reason);
    if (this.audit === undefined || this.closed) return;
    const source = refusal.agent !== undefined ? { agent: refusal.agent } : refusal.remote !== undefined ? { remote: refusal.remote } : {};
    let key = `${refusal.reason}\u0000${source.agent ?? ''}\u0000${source.remote ?? ''}`;
    let entry = this.window.get(key);
    if (entry === undefined) {
      if (this.window.size >= this.options.maxKeys) key = OVERFLOW;
      entry = this.window.get(key);
      if (entry === undefined) {
        entry = key === OVERFLOW ? { reason: 'overflow', source: {}, written: this.options.burst, suppressed: 0 } : { reason: refusal.reason, source, written: 0, suppressed: 0 };
        this.window.set(key, entry);
      }
    }
    if (entry.written >= this.options.burst) {
      entry.suppressed++;
      return;
    }
    entry.written++;
    const details: Record<string, unknown> = { code: refusal.code, ...source };
    if (refusal.method !== undefined) details.method = refusal.method.slice(0, MAX_NAME);
    if (refusal.server !== undefined) details.server = refusal.server.slice(0, MAX_NAME);
    if (refusal.session !== undefined) details.session = refusal.session.slice(0, MAX_NAME);
    this.write(refusal.reason, details);
  }

  private write(event: string, details: Record<string, unknown>): void {
    this.audit?.record({ type: 'event', control: 'refusal', event, details }).catch(this.onWriteFailure);
  }

  /** Summaries of what the closing window suppressed, then a fresh window. */
  private closeWindow(): void {
    if (this.window.size === 0) return;
    const closing = this.window;
    this.window = new Map();
    for (const entry of closing.values()) {
      if (entry.suppressed > 0) this.write(entry.reason, { ...entry.source, suppressed: entry.suppressed, window_ms: this.options.windowMs });
    }
  }

  /** Writes the pending summaries; later refusals are only counted. Idempotent. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.closeWindow();
    this.closed = true;
  }
}
