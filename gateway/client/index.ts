/**
 * The public client API of the gateway (package export `portcullis/client`):
 * what first-party agents (agents/) and anyone else may import to talk to a
 * gateway as an ordinary, identified MCP client. It grants no privilege: the
 * gateway decides, limits, holds and audits these calls like any other.
 */
export { GatewayClient } from './client.js';
export type { CallOptions, CallOutcome, ConnectOptions, ToolProgress } from './client.js';
export type { ClientIdentity } from './identity.js';
export { joinName, splitName } from '../protocol/names.js';
/** The gateway's own sanitizer, for what clients write down (transcripts): secrets redacted, text made printable. */
export { redactJson, sanitizeText } from '../sanitize/index.js';
/** The gateway's evidence (admin evidence API), for compliance reporters. */
export { EVIDENCE_SECTIONS, EvidenceReadError, evidencePath, readEvidence, sealingCheckpoints } from './evidence.js';
export type {
  AuditEvidence,
  AuditVerification,
  CertificateEvidence,
  CheckpointRef,
  EvidenceBundle,
  EvidenceReadOptions,
  EvidenceRecord,
  EvidenceSectionName,
  HoldEvidence,
  MetricSample,
  Period,
  PinEvidence,
  PkiEvidence,
  PolicyEvidence,
  Section,
  Unavailable,
} from './evidence.js';
