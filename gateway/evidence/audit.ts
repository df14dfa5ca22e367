/**
 * The audit section of the evidence: the whole trail is verified first
 * (hash chain, checkpoint signatures), then the period's records are read
 * with the file each came from, and the checkpoints that seal them listed.
 */
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { sealingCheckpoints, type AuditEvidence, type AuditVerification, type CheckpointRef, type EvidenceRecord, type Period } from '../client/evidence.js';
import { auditFilesOf, parseLine, readLines } from '../audit/read.js';
import { verifyAudit } from '../audit/verify.js';

/** A period's records are held in memory: past this many the caller must narrow the period. */
export const MAX_PERIOD_RECORDS = 500_000;

export class PeriodTooLargeError extends Error {
  constructor() {
    super(`the period holds more than ${MAX_PERIOD_RECORDS} audit records: narrow it with --from/--to`);
    this.name = 'PeriodTooLargeError';
  }
}

async function verification(dir: string, publicKey: KeyObject | undefined): Promise<AuditVerification> {
  const report = await verifyAudit(dir, publicKey === undefined ? {} : { publicKey });
  const status = !report.ok ? 'tampered' : report.signaturesChecked ? 'verified' : 'unverifiable';
  const result: AuditVerification = {
    status,
    signatures_checked: report.signaturesChecked,
    records: report.records,
    checkpoints: report.checkpoints,
    files: report.files,
    last_seq: report.lastSeq,
    warnings: report.warnings,
  };
  if (report.problem !== undefined) result.problem = { ...report.problem };
  return result;
}

function inPeriod(ts: string, period: Period): boolean {
  const at = Date.parse(ts);
  if (period.from !== undefined && !(at >= Date.parse(period.from))) return false;
  if (period.to !== undefined && !(at <= Date.parse(period.to))) return false;
  return true;
}

/** Verifies the trail in `dir`, then reads the records of `period`. */
export async function auditEvidence(dir: string, publicKey: KeyObject | undefined, period: Period): Promise<AuditEvidence> {
  const verified = await verification(dir, publicKey);
  const files: AuditEvidence['files'] = [];
  const records: EvidenceRecord[] = [];
  const allCheckpoints: CheckpointRef[] = [];
  for (const file of await auditFilesOf(dir)) {
    const name = path.basename(file);
    const { lines } = await readLines(file);
    let first = 0;
    let last = 0;
    for (const line of lines) {
      const record = parseLine(line);
      if (record === undefined) continue;
      if (first === 0) first = record.seq;
      last = record.seq;
      if (record.type === 'checkpoint') {
        allCheckpoints.push({ seq: record.seq, hash: record.hash, ts: record.ts, file: name, covers_seq: record.seq - 1 });
        continue;
      }
      if (!inPeriod(record.ts, period)) continue;
      if (records.length >= MAX_PERIOD_RECORDS) throw new PeriodTooLargeError();
      records.push({ ...(record as unknown as Record<string, unknown>), file: name } as EvidenceRecord);
    }
    if (first > 0) files.push({ file: name, first_seq: first, last_seq: last });
  }
  const firstSeq = records[0]?.seq ?? 0;
  const lastSeq = records.at(-1)?.seq ?? 0;
  const checkpoints = records.length === 0 ? [] : sealingCheckpoints(allCheckpoints, firstSeq, lastSeq);
  const sealedUpTo = checkpoints.at(-1)?.covers_seq ?? 0;
  const firstUnsealed = records.find((r) => r.seq > sealedUpTo)?.seq;
  return {
    verification: verified,
    period,
    files,
    checkpoints,
    unsealed: firstUnsealed === undefined ? null : { from_seq: firstUnsealed, to_seq: lastSeq },
    records,
  };
}
