import { randomBytes } from 'node:crypto';
import type { HoldTimeoutOutcome } from '../policy/engine/decision.js';
import { sanitizeText } from '../sanitize/text.js';
import { callDigest, type HeldCall } from './digest.js';
import { HoldError } from './errors.js';
import { HoldJournal } from './journal.js';
import type { HoldEvent, HoldEventType, HoldOutcome, HoldRecord, Principal } from './types.js';

export const APPROVER_ROLE = 'approver';
const MAX_REASON = 500;

export interface HoldProposal extends HeldCall {
  agent: { id: string; name: string };
  reasons: string[];
  revision: string;
  /** From the decision: roles or identities allowed to decide. */
  approvers: string[];
  timeoutS: number;
  /** From the decision: 'allow' lets the call through once the hold expires undecided; default 'deny'. */
  onTimeout?: HoldTimeoutOutcome;
}

export interface HoldStoreOptions {
  /** JSON-lines journal; omitted: holds live in memory only. */
  file?: string;
  maxPending?: number;
  maxTimeoutS?: number;
  keepFinished?: number;
  /** Masks secrets in arguments before they are stored or shown: raw arguments are never kept. */
  redact: (args: unknown) => unknown;
}

interface Waiter {
  resolve: (outcome: HoldOutcome) => void;
  timer: NodeJS.Timeout;
}

/** A reason a person typed or the gateway gave: hostile characters and secrets neutralised, bounded. */
function cleanReason(reason: string | undefined): string | undefined {
  const clean = reason === undefined ? '' : sanitizeText(reason, { maxLength: MAX_REASON }).trim();
  return clean === '' ? undefined : clean;
}

/**
 * Calls parked for a human decision. Each hold is bound to one exact call
 * (digest of server, method, tool and arguments) under one policy revision,
 * ends once (approved, denied, expired or cancelled), and an approval is
 * consumed by forwarding that same call exactly once.
 */
export class HoldStore {
  readonly #holds = new Map<string, HoldRecord>();
  readonly #waiters = new Map<string, Waiter>();
  readonly #listeners = new Set<(event: HoldEvent) => void>();
  /** Outcomes settled while opening the journal, before any sink could listen; replayed to each new listener. */
  readonly #settledAtOpen: HoldEvent[] = [];
  #opened = false;
  /** Holds whose rule forwards the call when nobody decides in time. */
  readonly #forwardOnExpiry = new Set<string>();
  readonly #journal: HoldJournal | undefined;
  readonly #maxPending: number;
  readonly #maxTimeoutS: number;
  readonly #keepFinished: number;
  readonly #redact: (args: unknown) => unknown;

  constructor(options: HoldStoreOptions) {
    this.#maxPending = options.maxPending ?? 1000;
    this.#maxTimeoutS = options.maxTimeoutS ?? 3600;
    this.#keepFinished = options.keepFinished ?? 10_000;
    this.#redact = options.redact;
    if (options.file) {
      const { journal, records } = HoldJournal.open(options.file, this.#keepFinished);
      this.#journal = journal;
      for (const record of records) this.#holds.set(record.id, record);
      this.#settleOrphans();
    }
    this.#opened = true;
  }

  onEvent(listener: (event: HoldEvent) => void): () => void {
    for (const event of this.#settledAtOpen) this.#deliver(listener, event);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get pendingCount(): number {
    return this.#waiters.size;
  }

  /** Parks a call; `outcome` settles when a person decides, the hold expires, or it is cancelled. */
  propose(proposal: HoldProposal): { hold: HoldRecord; outcome: Promise<HoldOutcome> } {
    if (this.#waiters.size >= this.#maxPending) {
      throw new HoldError('too-many-pending', 'too many calls are waiting for approval');
    }
    const now = Date.now();
    const timeoutS = Math.min(Math.max(1, proposal.timeoutS), this.#maxTimeoutS);
    const hold: HoldRecord = {
      id: randomBytes(16).toString('hex'), // hex: an id never starts with '-', so no CLI mistakes it for an option
      state: 'pending',
      agent_id: proposal.agent.id,
      agent_name: proposal.agent.name,
      server: proposal.server,
      method: proposal.method,
      arguments: this.#redact(proposal.arguments),
      digest: callDigest(proposal),
      revision: proposal.revision,
      reasons: [...proposal.reasons],
      approvers: [...proposal.approvers],
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + timeoutS * 1000).toISOString(),
    };
    if (proposal.tool !== undefined) hold.tool = proposal.tool;
    if (proposal.onTimeout === 'allow') this.#forwardOnExpiry.add(hold.id);
    this.#forgetOldFinished();
    this.#holds.set(hold.id, hold);
    const outcome = new Promise<HoldOutcome>((resolve) => {
      const timer = setTimeout(() => this.#expire(hold.id), timeoutS * 1000);
      this.#waiters.set(hold.id, { resolve, timer });
    });
    this.#record('proposed', hold);
    return { hold: { ...hold }, outcome };
  }

  /**
   * A person approves: they must be an admin with the approver role named by
   * the hold, not the calling agent, and confirm the digest (and revision, if
   * given) they reviewed, so an approval cannot be moved to another call.
   */
  approve(id: string, principal: Principal, confirm: { digest: string; revision?: string; reason?: string }): HoldRecord {
    const hold = this.#pending(id);
    this.#authorize(hold, principal);
    if (confirm.digest !== hold.digest) throw new HoldError('digest-mismatch', 'the approval is for a different call');
    if (confirm.revision !== undefined && confirm.revision !== hold.revision) {
      throw new HoldError('revision-mismatch', 'the approval is for a different policy revision');
    }
    return this.#decide(hold, 'approved', principal, confirm.reason);
  }

  deny(id: string, principal: Principal, reason?: string): HoldRecord {
    const hold = this.#pending(id);
    this.#authorize(hold, principal);
    return this.#decide(hold, 'denied', principal, reason);
  }

  /** The waiting call went away (client cancelled, disconnected, or the gateway stops). */
  cancel(id: string, reason: string): void {
    const hold = this.#holds.get(id);
    if (hold?.state !== 'pending') return;
    this.#finish(hold, 'cancelled', { decision_reason: cleanReason(reason) });
  }

  /**
   * Consumes an approval just before forwarding: the call about to go out must
   * be the approved one (same digest) under the same policy revision. Works once.
   * An expired hold whose rule said `on_timeout: allow` counts as approved.
   */
  claim(id: string, call: HeldCall, currentRevision: string): HoldRecord {
    const hold = this.#holds.get(id);
    if (!hold) throw new HoldError('not-found', 'no such hold');
    const expiredIntoAllow = hold.state === 'expired' && this.#forwardOnExpiry.has(id);
    if (hold.state !== 'approved' && !expiredIntoAllow) {
      throw new HoldError('not-approved', 'the hold is not approved or was already used');
    }
    this.#forwardOnExpiry.delete(id);
    if (callDigest(call) !== hold.digest) throw new HoldError('digest-mismatch', 'the call differs from the approved one');
    if (currentRevision !== hold.revision) {
      this.#finish(hold, 'cancelled', { decision_reason: 'policy changed while the call was held' });
      throw new HoldError('revision-mismatch', 'the policy changed while the call was held');
    }
    hold.state = 'forwarded';
    hold.forwarded_at = new Date(Date.now()).toISOString();
    this.#record('forwarded', hold);
    return { ...hold };
  }

  /** The upstream answered a forwarded held call. */
  returned(id: string, ok: boolean): void {
    const hold = this.#holds.get(id);
    if (hold?.state !== 'forwarded') return;
    hold.state = 'returned';
    hold.returned_at = new Date(Date.now()).toISOString();
    hold.result_ok = ok;
    this.#record('returned', hold);
  }

  get(id: string): HoldRecord | undefined {
    const hold = this.#holds.get(id);
    return hold ? { ...hold } : undefined;
  }

  /** Holds, newest first; `pending` only when asked (the console's view). */
  list(filter: { pendingOnly?: boolean } = {}): HoldRecord[] {
    const out: HoldRecord[] = [];
    for (const hold of this.#holds.values()) {
      if (!filter.pendingOnly || hold.state === 'pending') out.push({ ...hold });
    }
    return out.reverse();
  }

  /** Ends every pending hold as cancelled (shutdown). */
  close(): void {
    for (const id of [...this.#waiters.keys()]) this.cancel(id, 'gateway stopped');
  }

  /** Keeps memory bounded: finished holds beyond `keepFinished` are dropped, oldest first (the journal keeps them). */
  #forgetOldFinished(): void {
    let excess = this.#holds.size - this.#waiters.size - this.#keepFinished;
    for (const [id, hold] of this.#holds) {
      if (excess <= 0) break;
      if (hold.state !== 'pending' && hold.state !== 'approved') {
        this.#holds.delete(id);
        this.#forwardOnExpiry.delete(id);
        excess--;
      }
    }
  }

  #pending(id: string): HoldRecord {
    const hold = this.#holds.get(id);
    if (!hold) throw new HoldError('not-found', 'no such hold');
    if (hold.state !== 'pending') throw new HoldError('not-pending', `the hold is already ${hold.state}`);
    return hold;
  }

  #authorize(hold: HoldRecord, principal: Principal): void {
    if (principal.kind !== 'admin') throw new HoldError('agent-cannot-approve', 'agent identities cannot decide holds');
    if (principal.id === hold.agent_id) throw new HoldError('own-call', 'nobody can decide a hold on their own call');
    const names = new Set([principal.id, principal.name, ...principal.roles]);
    if (!principal.roles.includes(APPROVER_ROLE) || !hold.approvers.some((a) => names.has(a))) {
      throw new HoldError('not-an-approver', 'this identity may not decide this hold');
    }
  }

  #decide(hold: HoldRecord, state: 'approved' | 'denied', principal: Principal, reason: string | undefined): HoldRecord {
    this.#finish(hold, state, { decided_by: principal.id, decision_reason: cleanReason(reason) });
    return { ...hold };
  }

  #expire(id: string): void {
    const hold = this.#holds.get(id);
    if (hold?.state !== 'pending') return;
    const reason = this.#forwardOnExpiry.has(id) ? 'no decision before the timeout; the rule forwards it' : 'no decision before the timeout';
    this.#finish(hold, 'expired', { decision_reason: reason });
  }

  #finish(
    hold: HoldRecord,
    state: 'approved' | 'denied' | 'expired' | 'cancelled',
    details: { decided_by?: string; decision_reason?: string | undefined },
  ): void {
    hold.state = state;
    hold.decided_at = new Date(Date.now()).toISOString();
    if (details.decided_by !== undefined) hold.decided_by = details.decided_by;
    if (details.decision_reason !== undefined) hold.decision_reason = details.decision_reason;
    const waiter = this.#waiters.get(hold.id);
    this.#waiters.delete(hold.id);
    if (waiter) clearTimeout(waiter.timer);
    this.#record(state, hold);
    if (!waiter) return;
    const snapshot = { ...hold };
    waiter.resolve(
      state === 'approved' ? { approved: true, hold: snapshot } : { approved: false, state: state, hold: snapshot },
    );
  }

  /** After a restart nobody waits for old holds: record how each one ended. */
  #settleOrphans(): void {
    for (const hold of this.#holds.values()) {
      if (hold.state === 'pending' || hold.state === 'approved') {
        const was = hold.state;
        this.#finish(hold, was === 'pending' ? 'expired' : 'cancelled', {
          decision_reason: was === 'pending' ? 'gateway restarted before a decision' : 'gateway restarted before forwarding',
        });
      }
    }
  }

  #record(type: HoldEventType, hold: HoldRecord): void {
    const now = Date.now();
    this.#journal?.append(type, new Date(now).toISOString(), hold);
    const event: HoldEvent = { type, hold: { ...hold }, age_s: (now - Date.parse(hold.created_at)) / 1000 };
    if (this.#opened) {
      for (const listener of this.#listeners) this.#deliver(listener, event);
    } else {
      this.#settledAtOpen.push(event);
    }
  }

  #deliver(listener: (event: HoldEvent) => void, event: HoldEvent): void {
    try {
      listener(event);
    } catch (err) {
      // A failing audit/metrics sink must not change how the hold ends.
      process.emitWarning(`hold event listener failed: ${(err as Error).message}`);
    }
  }
}
