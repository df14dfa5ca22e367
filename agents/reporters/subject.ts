/**
 * GDPR Art. 15 subject access: every audit record of the period whose stored
 * arguments, control details or error message mention the identifier
 * (case-insensitive). Only the mentioning values are returned, by JSON path,
 * with the record's own metadata: other fields (other people's data) stay out.
 */
import type { EvidenceBundle, EvidenceRecord } from '../../gateway/client/index.js';

export interface SubjectMatch {
  seq: number;
  ts: string;
  file: string;
  type: string;
  agent?: string;
  server?: string;
  tool?: string;
  decision?: string;
  /** The values that mention the subject, by JSON path within the record. */
  mentions: Array<{ path: string; value: string }>;
}

export interface SubjectAccess {
  identifier: string;
  records: SubjectMatch[];
}

/** The fields a record stores from what agents sent or got back. */
const SEARCHED = ['arguments', 'details', 'error'] as const;

function mentions(value: unknown, path: string, needle: string, found: SubjectMatch['mentions']): void {
  if (typeof value === 'string') {
    if (value.toLowerCase().includes(needle)) found.push({ path, value });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => mentions(item, `${path}[${i}]`, needle, found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) mentions(child, `${path}.${key}`, needle, found);
  }
}

function matchOf(record: EvidenceRecord, needle: string): SubjectMatch | undefined {
  const found: SubjectMatch['mentions'] = [];
  for (const field of SEARCHED) mentions(record[field], `$.${field}`, needle, found);
  if (found.length === 0) return undefined;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const match: SubjectMatch = { seq: record.seq, ts: record.ts, file: record.file, type: record.type, mentions: found };
  const agent = text((record.agent as { id?: unknown } | undefined)?.id);
  if (agent !== undefined) match.agent = agent;
  for (const key of ['server', 'tool', 'decision'] as const) {
    const value = text(record[key]);
    if (value !== undefined) match[key] = value;
  }
  return match;
}

/** Shortest identifier searched for: shorter ones would match unrelated text. */
export const MIN_SUBJECT_LENGTH = 3;

export function subjectAccess(bundle: EvidenceBundle, identifier: string): SubjectAccess {
  const needle = identifier.trim().toLowerCase();
  if (needle.length < MIN_SUBJECT_LENGTH) throw new Error(`a subject identifier needs at least ${MIN_SUBJECT_LENGTH} characters`);
  const records = bundle.audit.available ? bundle.audit.records : [];
  return { identifier: identifier.trim(), records: records.flatMap((r) => matchOf(r, needle) ?? []) };
}
