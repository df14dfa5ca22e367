/** Shared shapes of the hold store, its events and the people who decide holds. */
import type { HoldMode } from './config.js';

/**
 * Who is asking the admin API; only `admin` principals with the approver role
 * may decide. `unlisted`: a CA-verified admin certificate whose name is not
 * under holds.approvers (refused, and told so).
 */
export interface Principal {
  kind: 'admin' | 'agent' | 'unlisted';
  /** Stable identity (SPIFFE id for certificates, `token:<name>` for tokens). */
  id: string;
  name: string;
  roles: string[];
}

export type HoldState = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'forwarded' | 'returned';

/** A hold as stored, listed and persisted. Arguments are only ever kept redacted. */
export interface HoldRecord {
  id: string;
  state: HoldState;
  agent_id: string;
  agent_name: string;
  server: string;
  method: string;
  tool?: string;
  /** Arguments with secrets masked: what an approver reviews. */
  arguments: unknown;
  /** SHA-256 (hex) of canonical JSON of {server, method, tool, arguments}: binds an approval to this exact call. */
  digest: string;
  /** Policy revision that asked for the hold: an approval is void under another revision. */
  revision: string;
  reasons: string[];
  /** Roles or identities, any one of which may decide (from the decision's `hold.approvers`). */
  approvers: string[];
  /** `wait`: the agent's request waits for the decision; `retry`: the agent was answered at once and retries. Absent in older journals: `wait`. */
  mode?: HoldMode;
  /** Present when the rule forwards the call once the hold expires undecided. */
  on_timeout?: 'allow';
  created_at: string;
  expires_at: string;
  decided_at?: string;
  decided_by?: string;
  /** The approver's or the gateway's stated reason (sanitised, bounded). */
  decision_reason?: string;
  /**
   * Retry mode: until when the agent's identical retry meets this hold's outcome
   * (the approval to consume, the denial to hear); afterwards a retry is a new hold.
   * An approval not consumed by then ends as `expired` (with `decided_by` still set).
   */
  retry_until?: string;
  forwarded_at?: string;
  returned_at?: string;
  /** For `returned`: whether the upstream answered with a result (true) or an error (false). */
  result_ok?: boolean;
}

export type HoldEventType = 'proposed' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'forwarded' | 'returned';

export interface HoldEvent {
  type: HoldEventType;
  hold: HoldRecord;
  /** Seconds from proposal to this event (for the hold-age histogram). */
  age_s: number;
}

/** What an agent's call meets in retry mode. */
export type RetryAnswer =
  /** Waiting for a person: every identical retry gets this same hold. */
  | { kind: 'held'; hold: HoldRecord }
  /** Approved (or expired under `on_timeout: allow`), and now consumed: forward this call, once. */
  | { kind: 'approved'; hold: HoldRecord }
  | { kind: 'denied'; hold: HoldRecord };

/** How a hold ended for the waiting call. */
export type HoldOutcome =
  | { approved: true; hold: HoldRecord }
  | { approved: false; state: 'denied' | 'expired' | 'cancelled'; hold: HoldRecord };
