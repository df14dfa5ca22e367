/** Live agent sessions by id, closed when idle too long or on shutdown. */
import type { AgentSession } from './session.js';

export class SessionStore {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly idleTimeoutMs: number) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleTimeoutMs, 60_000));
    this.sweeper.unref();
  }

  add(session: AgentSession): void {
    if (session.sessionId !== undefined) this.sessions.set(session.sessionId, session);
  }

  get(id: string): AgentSession | undefined {
    return this.sessions.get(id);
  }

  delete(id: string): void {
    this.sessions.get(id)?.close();
    this.sessions.delete(id);
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
