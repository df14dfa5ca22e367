/**
 * What the pipeline hands the audit trail (events) and what lands on disk
 * (records). One decision record per policy decision, one outcome record per
 * forwarded (or refused after allow) call, correlated by `call_id`.
 */
import type { AgentInput, MessageInput, ToolInput } from '../policy/engine/decision.js';
import type { Findings } from '../sanitize/text.js';

export interface AuditAgent {
  /** Stable identity (SPIFFE id, CN or JWT sub). */
  id: string;
  auth?: 'mtls' | 'jwt' | 'oauth';
  /** Client certificate serial (hex) for mTLS agents. */
  cert_serial?: string;
}

interface CallEvent {
  /** Correlates a call's decision and outcome (unique per gateway, e.g. session + JSON-RPC id). */
  call_id: string;
  agent: AuditAgent;
  session?: string;
  server: string;
  method: string;
  tool?: string;
  hold_id?: string;
}

export interface DecisionEvent extends CallEvent {
  type: 'decision';
  /** Raw arguments: the record keeps their digest and a redacted copy, never the raw value. */
  arguments?: unknown;
  /** The policy's `redact` list (detector names, JSON paths) applied to the stored arguments. */
  redact?: readonly string[];
  decision: 'allow' | 'deny' | 'hold';
  reasons: readonly string[];
  revision: string;
  classification?: readonly string[];
  latency_ms: { decision: number };
  /** The policy input that decided (replay), less the arguments (above), the result and the time (the record's ts). */
  input?: RecordedInput;
  /** "sha256:<hex>" of the canonical JSON of `input` before sanitizing: replay tells a faithful copy by it. */
  input_digest?: string;
}

export interface RecordedInput {
  agent: AgentInput;
  message: Omit<MessageInput, 'arguments' | 'result'>;
  tool?: ToolInput;
}

export interface OutcomeEvent extends CallEvent {
  type: 'outcome';
  /** ok: upstream result; error: upstream JSON-RPC error; the others never reached (or left) the upstream. */
  outcome: 'ok' | 'error' | 'timeout' | 'refused' | 'cancelled';
  error?: { code?: number; message: string };
  latency_ms: { upstream?: number; total: number };
}

/**
 * An enforcement control's event (hold, tool pin, rate limit, response
 * redaction), an agent session opened, or an attempt refused before the
 * policy was asked, recorded on its own.
 */
export interface ControlEvent {
  type: 'event';
  control: 'hold' | 'pin' | 'rate-limit' | 'redaction' | 'session' | 'refusal' | 'policy-shadow' | 'evidence' | 'replica';
  /** What happened, e.g. proposed, approved, quarantined, refused, masked. */
  event: string;
  /** Names, ids, digests and counts: sanitized like every other field. */
  details: Record<string, unknown>;
}

export type AuditEvent = DecisionEvent | OutcomeEvent | ControlEvent;

/** Every record on disk carries these; what `hash` covers depends on `v` (see chain.ts). */
export interface RecordEnvelope {
  v: 1 | 2;
  seq: number;
  ts: string;
  type: 'decision' | 'outcome' | 'event' | 'checkpoint' | 'recovery';
  prev: string;
  hash: string;
}

export interface DecisionRecord extends RecordEnvelope, Omit<DecisionEvent, 'arguments' | 'redact'> {
  type: 'decision';
  /** "sha256:<hex>" of the RFC 8785 canonical JSON of the raw arguments. */
  args_digest?: string;
  arguments?: unknown;
  redactions?: Findings;
}

export interface OutcomeRecord extends RecordEnvelope, OutcomeEvent {
  type: 'outcome';
}

export interface ControlRecord extends RecordEnvelope, ControlEvent {
  type: 'event';
}

export interface CheckpointRecord extends RecordEnvelope {
  type: 'checkpoint';
  /** Compact JWS over {seq, hash} of the record just before this one (= this record's prev). */
  jws: string;
}

export interface RecoveryRecord extends RecordEnvelope {
  type: 'recovery';
  /** The torn line (from a crash) this record seals: its length and digest, never its content. */
  partial: { bytes: number; sha256: string };
}

export type AuditRecord = DecisionRecord | OutcomeRecord | ControlRecord | CheckpointRecord | RecoveryRecord;

/** What a caller gets once its record is written (and synced, per the fsync policy). */
export interface AuditReceipt {
  seq: number;
  hash: string;
  /** What redaction found in this event, by detector (for metrics). */
  redactions: Findings;
}
