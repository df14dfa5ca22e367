/**
 * The gateway's evidence, as the admin evidence API serves it and as the
 * offline collector (`portcullis report` reading the folders) builds it:
 * the audit trail (verified first), the effective configuration, the
 * policy, the PKI, holds, pins and a metrics snapshot. Compliance reporters
 * read nothing else. Every section says whether it could be collected;
 * a reporter treats a missing section as missing evidence, never as "fine".
 */
import { identifiedFetch, type ClientIdentity } from './identity.js';

/** A section that could not be collected, and why (no journal configured, offline, unreadable...). */
export interface Unavailable {
  available: false;
  reason: string;
}

export type Section<T> = ({ available: true } & T) | Unavailable;

/** What verifying the hash chain and checkpoint signatures found, before anything was read from the trail. */
export interface AuditVerification {
  /** verified: chain and signatures hold; tampered: a record or signature does not; unverifiable: signatures could not be checked. */
  status: 'verified' | 'tampered' | 'unverifiable';
  signatures_checked: boolean;
  records: number;
  checkpoints: number;
  files: number;
  last_seq: number;
  problem?: { kind: string; file: string; line: number; seq?: number; message: string };
  warnings: string[];
}

/** An audit record as stored, plus the file it was read from. */
export interface EvidenceRecord {
  seq: number;
  ts: string;
  type: string;
  hash: string;
  file: string;
  [field: string]: unknown;
}

/** A signed checkpoint: it seals every record up to `covers_seq`. */
export interface CheckpointRef {
  seq: number;
  hash: string;
  ts: string;
  file: string;
  covers_seq: number;
}

export interface Period {
  /** Inclusive bounds, ISO 8601; absent: unbounded. */
  from?: string;
  to?: string;
}

/** The checkpoints that seal records first..last: those in between and the first one at or after the last. */
export function sealingCheckpoints(checkpoints: CheckpointRef[], first: number, last: number): CheckpointRef[] {
  const after = checkpoints.findIndex((c) => c.covers_seq >= last);
  return checkpoints.filter((c, i) => c.covers_seq >= first && (c.covers_seq < last || i === after));
}

export interface AuditEvidence {
  verification: AuditVerification;
  period: Period;
  files: Array<{ file: string; first_seq: number; last_seq: number }>;
  /** The checkpoints that seal the period's records (the first one after it included). */
  checkpoints: CheckpointRef[];
  /** Records of the period not yet sealed by a checkpoint: they could be cut off without a trace. */
  unsealed: { from_seq: number; to_seq: number } | null;
  records: EvidenceRecord[];
}

export interface PolicyEvidence {
  revision: string;
  /** folder, bundle or test (a decider given by a test harness). */
  kind: string;
  modules: Array<{ file: string; sha256: string; lines: number; test: boolean }>;
  tests: { ran: boolean; passed: number; failed: number; errored: number; skipped: number; reason?: string };
  /** The policy's data document (grants), as loaded. */
  data: Record<string, unknown>;
  /** `# METADATA` annotations linking rules to controls (`custom.controls`); empty until the compiler reads them. */
  annotations: Array<{ file: string; rule: string; controls: string[] }>;
  annotations_supported: boolean;
}

export interface CertificateEvidence {
  name: string;
  serial: string;
  identity?: string;
  not_before: string;
  not_after: string;
  state: 'valid' | 'expired' | 'revoked';
}

export interface PkiEvidence {
  /** Whether tls names its own CA and server certificate (else the development PKI). */
  own: boolean;
  server: { not_after: string; expired: boolean };
  /** Issued agent certificates (development PKI only; an own CA's issuance is not visible here). */
  certificates: CertificateEvidence[];
  crl: { present: boolean; revoked: Array<{ serial: string; revoked_at: string }> };
  revoked_identities: Array<{ id: string; revoked_at: string }>;
  revoked_tokens: number;
}

/** A hold as journaled, without its arguments (the audit trail binds them by digest). */
export interface HoldEvidence {
  id: string;
  state: string;
  agent_id: string;
  server: string;
  tool?: string;
  revision: string;
  created_at: string;
  expires_at: string;
  decided_at?: string;
  decided_by?: string;
}

export interface PinEvidence {
  server: string;
  tool: string;
  state: 'pinned' | 'quarantined';
  hash?: string;
  pinned_at?: string;
  pending_change?: string;
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface EvidenceBundle {
  collected_at: string;
  /** offline: read from the folders by the command line; gateway: read through the admin evidence API. */
  source: 'offline' | 'gateway';
  audit: Section<AuditEvidence>;
  /** The effective configuration (secrets redacted) and facts derived from it. */
  config: Section<{ effective: Record<string, unknown>; derived: Record<string, unknown> }>;
  policy: Section<PolicyEvidence>;
  pki: Section<PkiEvidence>;
  holds: Section<{ holds: HoldEvidence[] }>;
  pins: Section<{ pins: PinEvidence[] }>;
  metrics: Section<{ samples: MetricSample[] }>;
}

export type EvidenceSectionName = Exclude<keyof EvidenceBundle, 'collected_at' | 'source'>;

export const EVIDENCE_SECTIONS: readonly EvidenceSectionName[] = ['audit', 'config', 'policy', 'pki', 'holds', 'pins', 'metrics'];

/** The admin evidence API's path of a section. */
export function evidencePath(section: EvidenceSectionName): string {
  return `/admin/evidence/${section}`;
}

export interface EvidenceReadOptions {
  /** The gateway's origin, e.g. https://127.0.0.1:8443. */
  url: string | URL;
  identity: ClientIdentity;
  ca?: string;
  period?: Period;
}

/** Thrown when the gateway refuses or fails a read: its status and message. */
export class EvidenceReadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EvidenceReadError';
  }
}

/** The admin API's CSRF guard wants this header on every call, browsers or not. */
const CSRF = { 'x-portcullis-csrf': '1' };

/**
 * Reads every section through the admin evidence API with the caller's own
 * identity: the gateway authorizes and audits each read like any other.
 */
export async function readEvidence(options: EvidenceReadOptions): Promise<EvidenceBundle> {
  const link = identifiedFetch(options.identity, options.ca);
  try {
    const query = new URLSearchParams();
    if (options.period?.from !== undefined) query.set('from', options.period.from);
    if (options.period?.to !== undefined) query.set('to', options.period.to);
    const sections: Partial<Record<EvidenceSectionName, unknown>> = {};
    for (const section of EVIDENCE_SECTIONS) {
      const url = new URL(evidencePath(section), options.url);
      url.search = query.toString();
      const response = await link.fetch(url, { headers: CSRF });
      const body = (await response.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
      if (!response.ok) throw new EvidenceReadError(response.status, body?.error?.message ?? `reading ${section} failed (${response.status})`);
      sections[section] = body;
    }
    return { collected_at: new Date().toISOString(), source: 'gateway', ...(sections as Omit<EvidenceBundle, 'collected_at' | 'source'>) };
  } finally {
    await link.close();
  }
}
