import { randomBytes } from 'node:crypto';
import type { HoldTimeoutOutcome } from '../policy/engine/decision.js';
import { sanitizeText } from '../sanitize/text.js';
import type { HoldMode } from './config.js';
import { callDigest, type HeldCall } from './digest.js';
import { HoldError } from './errors.js';
import { HoldJournal } from './journal.js';
import type { HoldBoard } from './board.js';
import type { HoldEvent, HoldEventType, HoldOutcome, HoldRecord, HoldState, Principal, RetryAnswer } from './types.js';

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
  /** How the hold stage meets held calls (holds.mode); default `wait`. */
  mode?: HoldMode;
  /** Retry mode: how long an approval or a denial answers the identical retry; default 600. */
  approvalTtlS?: number;
  /** Masks secrets in arguments before they are stored or shown: raw arguments are never kept. */
  redact: (args: unknown) => unknown;
  /** Holds shared by replicas (wait mode only): any replica lists and decides any hold. */
  board?: HoldBoard;
}

/** A person's decision through the admin API. */
export type HoldDecision = { verdict: 'approve'; digest: string; revision?: string; reason?: string } | { verdict: 'deny'; reason?: string };

/** A pending hold's expiry timer and, in wait mode, the request waiting for it. */
interface Waiter {
  resolve?: (outcome: HoldOutcome) => void;
  /** Shared mode: the hold could not be stored for the other replicas, so the call is refused. */
  reject?: (error: HoldError) => void;
  timer: NodeJS.Timeout;
}

/** How far a hold has come: a shared record only ever moves forward (a late echo never undoes a change). */
const PROGRESS: Record<HoldState, number> = { pending: 0, approved: 1, denied: 1, expired: 1, cancelled: 1, forwarded: 2, returned: 3 };

const UNSHARED = 'holds are shared by the replicas and the shared state is out of reach';

/** A reason a person typed or the gateway gave: hostile characters and secrets neutralised, bounded. */
function cleanReason(reason: string | undefined): string | undefined {
  const clean = reason === undefined ? '' : sanitizeText(reason, { maxLength: MAX_REASON }).trim();
  return clean === '' ? undefined : clean;
}

/** A hold record as the shared state holds it, or undefined for anything else. */
function parseShared(value: string): HoldRecord | undefined {
  try {
    const record = JSON.parse(value) as HoldRecord;
    return typeof record?.id === 'string' && typeof record.state === 'string' && record.state in PROGRESS ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Retry mode binds a hold to one agent and one exact call. */
function retryKey(agentId: string, digest: string): string {
  return `${digest} ${agentId}`;
}

/** An undecided hold whose rule forwards the call once it expires (a lapsed approval has `decided_by`). */
function forwardsOnExpiry(hold: HoldRecord): boolean {
  return hold.state === 'expired' && hold.on_timeout === 'allow' && hold.decided_by === undefined;
}

/**
 * Calls parked for a human decision. Each hold is bound to one exact call
 * (digest of server, method, tool and arguments) under one policy revision,
 * ends once (approved, denied, expired or cancelled), and an approval is
 * consumed by forwarding that same call exactly once. In wait mode the
 * agent's request waits on `propose`; in retry mode the agent is answered at
 * once and its identical retries meet the same hold through `retry`.
 */
export class HoldStore {
  readonly #holds = new Map<string, HoldRecord>();
  readonly #waiters = new Map<string, Waiter>();
  readonly #listeners = new Set<(event: HoldEvent) => void>();
  /** Outcomes settled while opening the journal, before any sink could listen; replayed to each new listener. */
  readonly #settledAtOpen: HoldEvent[] = [];
  #opened = false;
  /** Retry mode: the newest hold of each (agent, call digest). */
  readonly #byCall = new Map<string, string>();
  /** Retry mode: approvals waiting for the agent's retry, each lapsing at its `retry_until`. */
  readonly #lapses = new Map<string, NodeJS.Timeout>();
  readonly #journal: HoldJournal | undefined;
  readonly #maxPending: number;
  readonly #maxTimeoutS: number;
  readonly #keepFinished: number;
  readonly #approvalTtlMs: number;
  readonly #redact: (args: unknown) => unknown;
  /** How the hold stage meets held calls: it waits (`propose`) or answers at once (`retry`). */
  readonly mode: HoldMode;
  readonly #board: HoldBoard | undefined;
  /** Shared mode: expiry of pending holds other replicas wait for (whoever expires one first wins). */
  readonly #peerTimers = new Map<string, NodeJS.Timeout>();
  readonly #unsubscribe: Array<() => void> = [];

  constructor(options: HoldStoreOptions) {
    this.#maxPending = options.maxPending ?? 1000;
    this.#maxTimeoutS = options.maxTimeoutS ?? 3600;
    this.#keepFinished = options.keepFinished ?? 10_000;
    this.#approvalTtlMs = (options.approvalTtlS ?? 600) * 1000;
    this.#redact = options.redact;
    this.mode = options.mode ?? 'wait';
    if (options.file) {
      const { journal, records } = HoldJournal.open(options.file, this.#keepFinished);
      this.#journal = journal;
      for (const record of records) this.#holds.set(record.id, record);
      this.#resumeAfterRestart();
    }
    this.#opened = true;
    this.#board = options.board;
    if (options.board !== undefined) {
      // A retry-mode approval would have to be consumed once across replicas: not shared (yet).
      if (this.mode === 'retry') throw new Error('holds.mode retry cannot be shared by replicas: use holds.mode wait with state.backend redis');
      const board = options.board;
      this.#unsubscribe.push(
        board.onChange((value) => this.#adopt(value)),
        board.onResync(() => void this.#resync(board)),
      );
      if (board.available) void this.#resync(board);
    }
  }

  onEvent(listener: (event: HoldEvent) => void): () => void {
    for (const event of this.#settledAtOpen) this.#deliver(listener, event);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get pendingCount(): number {
    return this.#waiters.size;
  }

  /** Wait mode: parks a call; `outcome` settles when a person decides, the hold expires, or it is cancelled. */
  propose(proposal: HoldProposal): { hold: HoldRecord; outcome: Promise<HoldOutcome> } {
    this.#checkCapacity();
    const board = this.#board;
    if (board !== undefined && !board.available) throw new HoldError('state-unavailable', UNSHARED);
    let hold!: HoldRecord;
    const outcome = new Promise<HoldOutcome>((resolve, reject) => {
      hold = this.#create(proposal, 'wait', resolve, reject);
    });
    // Other replicas can decide the hold once it is stored; if it cannot be, nobody could: refuse the call.
    board?.put(hold.id, JSON.stringify(hold)).catch(() => this.#unshared(hold.id));
    return { hold: { ...hold }, outcome };
  }

  /**
   * Retry mode: what this call meets. The first call proposes a hold; an
   * identical call from the same agent gets the same hold while it waits
   * (re-proposed if the policy changed meanwhile), the denial until
   * `retry_until`, or consumes the approval (exactly once, under the policy
   * revision it was approved under). After that, or once the hold expired
   * or lapsed, the call is held anew.
   */
  retry(proposal: HoldProposal): RetryAnswer {
    const key = retryKey(proposal.agent.id, callDigest(proposal));
    const last = this.#holds.get(this.#byCall.get(key) ?? '');
    if (last?.state === 'pending') {
      if (last.revision === proposal.revision) return { kind: 'held', hold: { ...last } };
      this.cancel(last.id, 'the policy changed while the call was held');
    } else if (last !== undefined && last.retry_until !== undefined && Date.now() < Date.parse(last.retry_until)) {
      if (last.state === 'denied') return { kind: 'denied', hold: { ...last } };
      if (last.state === 'approved' || forwardsOnExpiry(last)) return { kind: 'approved', hold: this.claim(last.id, proposal, proposal.revision) };
    }
    this.#checkCapacity();
    return { kind: 'held', hold: { ...this.#create(proposal, 'retry') } };
  }

  #checkCapacity(): void {
    if (this.#waiters.size >= this.#maxPending) {
      throw new HoldError('too-many-pending', 'too many calls are waiting for approval');
    }
  }

  #create(proposal: HoldProposal, mode: HoldMode, resolve?: (outcome: HoldOutcome) => void, reject?: (error: HoldError) => void): HoldRecord {
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
      mode,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + timeoutS * 1000).toISOString(),
    };
    if (proposal.tool !== undefined) hold.tool = proposal.tool;
    if (proposal.onTimeout === 'allow') hold.on_timeout = 'allow';
    this.#forgetOldFinished();
    this.#holds.set(hold.id, hold);
    if (mode === 'retry') this.#byCall.set(retryKey(hold.agent_id, hold.digest), hold.id);
    this.#waiters.set(hold.id, { resolve, reject, timer: setTimeout(() => this.#expire(hold.id), timeoutS * 1000) });
    this.#record('proposed', hold);
    return hold;
  }

  /**
   * A person approves: they must be an admin with the approver role named by
   * the hold, not the calling agent, and confirm the digest (and revision, if
   * given) they reviewed, so an approval cannot be moved to another call.
   */
  approve(id: string, principal: Principal, confirm: { digest: string; revision?: string; reason?: string }): HoldRecord {
    const hold = this.#pending(id);
    this.#authorize(hold, principal);
    this.#confirm(hold, confirm);
    return this.#decide(hold, 'approved', principal, confirm.reason);
  }

  #confirm(hold: HoldRecord, confirm: { digest: string; revision?: string }): void {
    if (confirm.digest !== hold.digest) throw new HoldError('digest-mismatch', 'the approval is for a different call');
    if (confirm.revision !== undefined && confirm.revision !== hold.revision) {
      throw new HoldError('revision-mismatch', 'the approval is for a different policy revision');
    }
  }

  /**
   * The admin API's way to decide: here at once, or, with holds shared by
   * replicas, in the shared state first, where one decision wins; the replica
   * whose call waits for it hears it there and resumes the call.
   */
  async decide(id: string, principal: Principal, decision: HoldDecision): Promise<HoldRecord> {
    const board = this.#board;
    if (board === undefined) return decision.verdict === 'approve' ? this.approve(id, principal, decision) : this.deny(id, principal, decision.reason);
    const hold = this.#pending(id);
    this.#authorize(hold, principal);
    if (decision.verdict === 'approve') this.#confirm(hold, decision);
    const decided = this.#concluded(hold, decision.verdict === 'approve' ? 'approved' : 'denied', { decided_by: principal.id, decision_reason: cleanReason(decision.reason) });
    let result: Awaited<ReturnType<HoldBoard['transition']>>;
    try {
      result = await board.transition(id, 'pending', JSON.stringify(decided));
    } catch {
      throw new HoldError('state-unavailable', UNSHARED);
    }
    if (!result.ok) {
      if (result.current !== undefined) this.#adopt(result.current);
      throw new HoldError('not-pending', `the hold is already ${this.#holds.get(id)?.state ?? 'gone'}`);
    }
    this.#apply(decided, true);
    return { ...decided };
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
    // Shared: the call ends here now, whatever the other replicas say.
    if (this.#board !== undefined) this.#settleShared(hold, this.#concluded(hold, 'cancelled', { decision_reason: cleanReason(reason) }), true);
    else this.#finish(hold, 'cancelled', { decision_reason: cleanReason(reason) });
  }

  /**
   * Consumes an approval just before forwarding: the call about to go out must
   * be the approved one (same digest) under the same policy revision. Works once.
   * An expired hold whose rule said `on_timeout: allow` counts as approved.
   */
  claim(id: string, call: HeldCall, currentRevision: string): HoldRecord {
    const hold = this.#holds.get(id);
    if (!hold) throw new HoldError('not-found', 'no such hold');
    if (hold.state !== 'approved' && !forwardsOnExpiry(hold)) {
      throw new HoldError('not-approved', 'the hold is not approved or was already used');
    }
    this.#closeRetryWindow(id);
    if (callDigest(call) !== hold.digest) throw new HoldError('digest-mismatch', 'the call differs from the approved one');
    if (currentRevision !== hold.revision) {
      this.#finish(hold, 'cancelled', { decision_reason: 'policy changed while the call was held' });
      throw new HoldError('revision-mismatch', 'the policy changed while the call was held');
    }
    hold.state = 'forwarded';
    hold.forwarded_at = new Date(Date.now()).toISOString();
    this.#record('forwarded', hold);
    this.#share(hold);
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
    this.#share(hold);
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

  /**
   * Shutdown: waiting requests end as cancelled. Retry-mode holds wait for
   * nobody: with a journal they stay open for the next start; without one
   * pending ones end as cancelled too.
   */
  close(): void {
    for (const [id, waiter] of [...this.#waiters]) {
      if (this.#journal !== undefined && this.#holds.get(id)?.mode === 'retry') {
        clearTimeout(waiter.timer);
        this.#waiters.delete(id);
      } else {
        this.cancel(id, 'gateway stopped');
      }
    }
    for (const timer of this.#lapses.values()) clearTimeout(timer);
    this.#lapses.clear();
    for (const timer of this.#peerTimers.values()) clearTimeout(timer);
    this.#peerTimers.clear();
    for (const stop of this.#unsubscribe.splice(0)) stop();
  }

  /** Keeps memory bounded: finished holds beyond `keepFinished` are dropped, oldest first (the journal keeps them). */
  #forgetOldFinished(): void {
    let excess = this.#holds.size - this.#waiters.size - this.#keepFinished;
    for (const [id, hold] of this.#holds) {
      if (excess <= 0) break;
      if (hold.state !== 'pending' && hold.state !== 'approved') {
        this.#holds.delete(id);
        const key = retryKey(hold.agent_id, hold.digest);
        if (this.#byCall.get(key) === id) this.#byCall.delete(key);
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
    // Retry mode: the outcome answers the agent's retries for approval_ttl_s (on record with the decision).
    const retryUntil = Date.now() + this.#approvalTtlMs;
    if (hold.mode === 'retry') hold.retry_until = new Date(retryUntil).toISOString();
    this.#finish(hold, state, { decided_by: principal.id, decision_reason: cleanReason(reason) });
    if (hold.mode === 'retry' && state === 'approved') this.#armLapse(hold.id, retryUntil);
    return { ...hold };
  }

  #expire(id: string): void {
    const hold = this.#holds.get(id);
    if (hold?.state !== 'pending') return;
    const forwards = hold.on_timeout === 'allow';
    if (forwards && hold.mode === 'retry') hold.retry_until = new Date(Date.now() + this.#approvalTtlMs).toISOString();
    const details = { decision_reason: forwards ? 'no decision before the timeout; the rule forwards it' : 'no decision before the timeout' };
    if (this.#board !== undefined) this.#settleShared(hold, this.#concluded(hold, 'expired', details), false);
    else this.#finish(hold, 'expired', details);
  }

  /** Retry mode: an approval not consumed by `untilMs` lapses. */
  #armLapse(id: string, untilMs: number): void {
    this.#lapses.set(id, setTimeout(() => this.#lapse(id), Math.max(0, untilMs - Date.now())));
  }

  #closeRetryWindow(id: string): void {
    clearTimeout(this.#lapses.get(id));
    this.#lapses.delete(id);
  }

  /** An approval the agent did not come back for: it ends as expired, its decision kept on record. */
  #lapse(id: string): void {
    this.#closeRetryWindow(id);
    const hold = this.#holds.get(id);
    if (hold?.state !== 'approved') return;
    hold.state = 'expired';
    this.#record('expired', hold);
  }

  #finish(
    hold: HoldRecord,
    state: 'approved' | 'denied' | 'expired' | 'cancelled',
    details: { decided_by?: string; decision_reason?: string | undefined },
  ): void {
    Object.assign(hold, this.#concluded(hold, state, details));
    this.#conclude(hold);
  }

  /** The record of `hold` once it ended as `state` (the hold itself is not changed). */
  #concluded(hold: HoldRecord, state: 'approved' | 'denied' | 'expired' | 'cancelled', details: { decided_by?: string; decision_reason?: string | undefined }): HoldRecord {
    const ended: HoldRecord = { ...hold, state, decided_at: new Date(Date.now()).toISOString() };
    if (details.decided_by !== undefined) ended.decided_by = details.decided_by;
    if (details.decision_reason !== undefined) ended.decision_reason = details.decision_reason;
    return ended;
  }

  /** A hold that just ended: its timer stops, the event is recorded, the waiting call hears the outcome. */
  #conclude(hold: HoldRecord): void {
    const state = hold.state;
    if (state !== 'approved' && state !== 'denied' && state !== 'expired' && state !== 'cancelled') return;
    const waiter = this.#waiters.get(hold.id);
    this.#waiters.delete(hold.id);
    if (waiter) clearTimeout(waiter.timer);
    this.#record(state, hold);
    if (!waiter?.resolve) return;
    const snapshot = { ...hold };
    waiter.resolve(
      state === 'approved' ? { approved: true, hold: snapshot } : { approved: false, state: state, hold: snapshot },
    );
  }

  /**
   * After a restart nobody waits for old wait-mode holds: record how each one
   * ended. Retry-mode holds carry on: the agent comes back with its retry.
   */
  #resumeAfterRestart(): void {
    for (const hold of this.#holds.values()) {
      if (hold.mode === 'retry') {
        this.#resumeRetry(hold);
      } else if (hold.state === 'pending' || hold.state === 'approved') {
        const was = hold.state;
        this.#finish(hold, was === 'pending' ? 'expired' : 'cancelled', {
          decision_reason: was === 'pending' ? 'gateway restarted before a decision' : 'gateway restarted before forwarding',
        });
      }
    }
  }

  #resumeRetry(hold: HoldRecord): void {
    this.#byCall.set(retryKey(hold.agent_id, hold.digest), hold.id);
    if (hold.state === 'pending') {
      const timer = setTimeout(() => this.#expire(hold.id), Math.max(0, Date.parse(hold.expires_at) - Date.now()));
      this.#waiters.set(hold.id, { timer });
    } else if (hold.state === 'approved' && hold.retry_until !== undefined) {
      this.#armLapse(hold.id, Date.parse(hold.retry_until));
    }
  }

  /** Shared mode: a change only this replica makes (its own call forwarded, answered) is stored for the others. */
  #share(hold: HoldRecord): void {
    this.#board?.put(hold.id, JSON.stringify(hold)).catch(() => undefined);
  }

  /** Shared mode: the new hold could not be stored, so no other replica could decide it: the call is refused. */
  #unshared(id: string): void {
    const hold = this.#holds.get(id);
    if (hold?.state !== 'pending') return;
    this.#waiters.get(id)?.reject?.(new HoldError('state-unavailable', UNSHARED));
    this.#finish(hold, 'cancelled', { decision_reason: 'shared state unavailable' });
  }

  /**
   * Shared mode: ends a pending hold (expired, cancelled) in the shared state
   * first, where a decision made meanwhile on another replica wins. `atOnce`:
   * the end holds here whatever the shared state says (the call is gone).
   * Out of reach, it ends here (failing closed) and is stored on reconnection.
   */
  #settleShared(hold: HoldRecord, ended: HoldRecord, atOnce: boolean): void {
    const board = this.#board;
    if (board === undefined) return;
    if (atOnce) this.#apply(ended, true);
    board.transition(hold.id, 'pending', JSON.stringify(ended)).then(
      (result) => {
        if (result.ok) this.#apply(ended, true);
        else if (result.current !== undefined) this.#adopt(result.current);
      },
      () => this.#apply(ended, true),
    );
  }

  /** A record from the shared state (another replica's change, or the echo of ours). */
  #adopt(value: string): void {
    const record = parseShared(value);
    if (record !== undefined) this.#apply(record);
  }

  /**
   * Takes a shared record in, never moving a hold backwards. A pending hold
   * that ended elsewhere ends here too: the call waiting on this replica, if
   * any, resumes (approved) or is refused, and that is recorded here, as is
   * a decision made here (`madeHere`).
   */
  #apply(record: HoldRecord, madeHere = false): void {
    const local = this.#holds.get(record.id);
    if (local === undefined) {
      this.#holds.set(record.id, { ...record });
      if (record.state === 'pending') this.#armPeerExpiry(record);
      return;
    }
    if (PROGRESS[record.state] <= PROGRESS[local.state]) return;
    const wasPending = local.state === 'pending';
    Object.assign(local, record);
    clearTimeout(this.#peerTimers.get(record.id));
    this.#peerTimers.delete(record.id);
    if (wasPending && (madeHere || this.#waiters.has(record.id))) this.#conclude(local);
  }

  /** Shared mode: a peer's pending hold expires here too if its replica is gone; the first replica to expire it wins. */
  #armPeerExpiry(hold: HoldRecord): void {
    if (this.#waiters.has(hold.id) || this.#peerTimers.has(hold.id)) return;
    const timer = setTimeout(() => {
      this.#peerTimers.delete(hold.id);
      const current = this.#holds.get(hold.id);
      if (current?.state === 'pending') this.#settleShared(current, this.#concluded(current, 'expired', { decision_reason: 'no decision before the timeout' }), false);
    }, Math.max(0, Date.parse(hold.expires_at) - Date.now()));
    timer.unref();
    this.#peerTimers.set(hold.id, timer);
  }

  /**
   * After (re)connecting: every shared hold is taken in; what this replica
   * ended while Redis was out of reach is stored; and what this replica waits
   * for but Redis no longer has (a Redis that restarted without its data) is
   * stored again, so no hold is lost.
   */
  async #resync(board: HoldBoard): Promise<void> {
    let values: string[];
    try {
      values = await board.all();
    } catch {
      return;
    }
    const shared = new Set<string>();
    for (const record of values.map(parseShared)) {
      if (record === undefined) continue;
      shared.add(record.id);
      const local = this.#holds.get(record.id);
      if (local !== undefined && local.state !== 'pending' && record.state === 'pending') {
        board.transition(record.id, 'pending', JSON.stringify(local)).catch(() => undefined);
      } else {
        this.#apply(record);
      }
    }
    for (const id of this.#waiters.keys()) {
      const hold = this.#holds.get(id);
      if (hold !== undefined && !shared.has(id)) board.put(id, JSON.stringify(hold)).catch(() => undefined);
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
