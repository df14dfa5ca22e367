/**
 * `portcullis audit verify`: walks the chain over every file in order and
 * names the first record that was edited, removed, inserted or reordered, a
 * line that is not a record, or a checkpoint whose signature does not hold.
 */
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { GENESIS_HASH, hashMatches } from './chain.js';
import { checkpointProblem } from './checkpoint.js';
import type { AuditRecord, CheckpointRecord } from './events.js';
import { firstSeqOfName } from './files.js';
import { auditFilesOf, parseLine, readLines, seals } from './read.js';

export type ProblemKind = 'edited' | 'removed' | 'inserted' | 'reordered' | 'malformed' | 'bad-signature';

export interface VerifyProblem {
  kind: ProblemKind;
  /** File name (no folder) and 1-based line of the record named. */
  file: string;
  line: number;
  seq?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  files: number;
  records: number;
  checkpoints: number;
  /** False when no key was given: checkpoint signatures were not checked. */
  signaturesChecked: boolean;
  /** Torn lines sealed by recovery records after a crash. */
  recovered: number;
  lastSeq: number;
  problem?: VerifyProblem;
  warnings: string[];
}

interface Seen {
  seq: number;
  hash: string;
  file: string;
  line: number;
}

/** How far back an out-of-place link is looked for (inserted records). */
const RECENT = 10_000;

function problem(kind: ProblemKind, at: { file: string; line: number }, message: string, seq?: number): VerifyProblem {
  return { kind, file: path.basename(at.file), line: at.line, ...(seq !== undefined ? { seq } : {}), message };
}

/** Classifies a record that does not link to the one before it. */
function chainBreak(r: AuditRecord, at: Seen, recent: Seen[], later: AuditRecord[]): VerifyProblem {
  const prev = recent[recent.length - 1];
  if (!prev) {
    return r.seq > 1
      ? problem('removed', at, `the log starts at seq ${r.seq}: records 1..${r.seq - 1} are missing`, r.seq)
      : problem('edited', at, 'the first record does not start the chain', r.seq);
  }
  if (r.prev === prev.hash) return problem('edited', at, `seq ${r.seq} should be seq ${prev.seq + 1}`, r.seq);
  const earlier = recent.findIndex((s) => s.hash === r.prev);
  if (earlier >= 0) {
    const anchor = recent[earlier] as Seen;
    const first = recent[earlier + 1] as Seen;
    if (r.seq === anchor.seq + 1) {
      return problem('inserted', first, `record not in the chain: seq ${anchor.seq} is followed by seq ${r.seq} at line ${at.line}`, first.seq);
    }
    return problem('reordered', at, `seq ${r.seq} links to seq ${anchor.seq} but comes after seq ${prev.seq}`, r.seq);
  }
  if (r.seq <= prev.seq || later.some((l) => l.hash === r.prev || l.seq === prev.seq + 1)) {
    return problem('reordered', at, `seq ${r.seq} is out of order after seq ${prev.seq}`, r.seq);
  }
  if (r.seq > prev.seq + 1) {
    return problem('removed', at, `records seq ${prev.seq + 1}..${r.seq - 1} are missing before this one`, r.seq);
  }
  return problem('edited', prev, `seq ${prev.seq} was changed: seq ${r.seq} does not link to it`, prev.seq);
}

export async function verifyAudit(target: string, options: { publicKey?: KeyObject } = {}): Promise<VerifyReport> {
  const files = await auditFilesOf(target);
  const report: VerifyReport = {
    ok: false,
    files: files.length,
    records: 0,
    checkpoints: 0,
    signaturesChecked: options.publicKey !== undefined,
    recovered: 0,
    lastSeq: 0,
    warnings: [],
  };
  const recent: Seen[] = [];
  // One rotated file given on its own may start mid-chain; a folder must start at seq 1.
  const singleFile = files.length === 1 && files[0] === target;
  for (const [fileIndex, file] of files.entries()) {
    const { lines, unterminated } = await readLines(file);
    const parsed = lines.map((l) => parseLine(l));
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i] as Buffer;
      const at = { file, line: i + 1 };
      if (seals(lines[i + 1], raw)) {
        report.recovered++;
        continue;
      }
      const r = parsed[i];
      if (!r) {
        const tornTail = unterminated && i === lines.length - 1 && fileIndex === files.length - 1;
        if (tornTail) {
          report.warnings.push(`${path.basename(file)}:${at.line}: torn last record (crash); the gateway seals it on its next start`);
          continue;
        }
        report.problem = problem('malformed', at, 'line is not an audit record (edited or damaged)');
        return report;
      }
      if (!hashMatches(r, raw)) {
        report.problem = problem('edited', at, `seq ${r.seq} does not match its hash`, r.seq);
        return report;
      }
      const prev = recent[recent.length - 1];
      // Accepted only where the file's own name says it starts there (a rotated file).
      const midChainStart = !prev && singleFile && r.seq > 1 && firstSeqOfName(file) === r.seq;
      if (midChainStart) {
        report.warnings.push(`${path.basename(file)} starts at seq ${r.seq}: the files before it were not checked`);
      } else if (r.prev !== (prev?.hash ?? GENESIS_HASH) || r.seq !== (prev?.seq ?? 0) + 1) {
        const later = parsed.slice(i + 1).filter((l): l is AuditRecord => l !== undefined);
        report.problem = chainBreak(r, { seq: r.seq, hash: r.hash, ...at }, recent, later);
        return report;
      }
      if (r.type === 'checkpoint') {
        report.checkpoints++;
        if (options.publicKey) {
          const why = await checkpointProblem((r as CheckpointRecord).jws, options.publicKey, { seq: r.seq - 1, hash: r.prev });
          if (why) {
            report.problem = problem('bad-signature', at, `checkpoint seq ${r.seq}: ${why}`, r.seq);
            return report;
          }
        }
      }
      report.records++;
      report.lastSeq = r.seq;
      recent.push({ seq: r.seq, hash: r.hash, ...at });
      // Trimmed in bulk so the window costs O(1) per record.
      if (recent.length > 2 * RECENT) recent.splice(0, RECENT);
    }
  }
  if (!report.signaturesChecked && report.checkpoints > 0) {
    report.warnings.push(`${report.checkpoints} checkpoint signature(s) not checked: pass the gateway's key or certificate`);
  }
  report.ok = true;
  return report;
}
