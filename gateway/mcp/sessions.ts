/**
 * Live agent sessions by id, closed when idle too long or on shutdown, and
 * bounded: per agent identity and in all, counting sessions still being
 * initialized, so a flood of initialize requests cannot exhaust the gateway.
 */
import type { AgentSession } from './session.js';

export interface SessionLimits {
  perAgent: number;
  total: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, AgentSession>();
  /** Admitted sessions (open or initializing) by owner. */
  private readonly owned = new Map<string, number>();
  private admitted = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly idleTimeoutMs: number,
    private readonly limits: SessionLimits,
    private readonly onCount: (open: number) => void = () => undefined,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleTimeoutMs, 60_000));
    this.sweeper.unref();
  }

  /** Holds a place for a new session of `owner`, or names the limit that refuses it. */
  admit(owner: string): 'agentSessionLimit' | 'sessionLimit' | undefined {
    if (this.admitted >= this.limits.total) return 'sessionLimit';
    const held = this.owned.get(owner) ?? 0;
    if (held >= this.limits.perAgent) return 'agentSessionLimit';
    this.owned.set(owner, held + 1);
    this.admitted++;
    return undefined;
  }

  /** Gives back an admitted place whose session never opened. */
  release(owner: string): void {
    const held = this.owned.get(owner) ?? 0;
    if (held <= 0) return;
    if (held === 1) this.owned.delete(owner);
    else this.owned.set(owner, held - 1);
    this.admitted--;
  }

  /** An admitted session that finished initializing. */
  add(session: AgentSession): void {
    if (session.sessionId === undefined) return;
    this.sessions.set(session.sessionId, session);
    this.onCount(this.sessions.size);
  }

  get(id: string): AgentSession | undefined {
    return this.sessions.get(id);
  }

  delete(id: string): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    session.close();
    this.sessions.delete(id);
    this.release(session.owner);
    this.onCount(this.sessions.size);
  }

  all(): IterableIterator<AgentSession> {
    return this.sessions.values();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleTimeoutMs;
    for (const [id, session] of this.sessions) if (session.lastActivity < cutoff) this.delete(id);
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.sessions.keys()]) this.delete(id);
  }
}
