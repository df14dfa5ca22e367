/** Reading audit files back: lines as bytes (a torn line may not be valid UTF-8) and records. */
import { readFile, stat } from 'node:fs/promises';
import { sha256Hex } from './chain.js';
import type { AuditRecord, RecoveryRecord } from './events.js';
import { listAuditFiles } from './files.js';

export interface FileLines {
  file: string;
  lines: Buffer[];
  /** True when the last line has no newline: a record torn by a crash (or cut). */
  unterminated: boolean;
}

/** A file or a folder of audit files, oldest first. */
export async function auditFilesOf(target: string): Promise<string[]> {
  return (await stat(target)).isDirectory() ? listAuditFiles(target) : [target];
}

export async function readLines(file: string): Promise<FileLines> {
  const data = await readFile(file);
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
    lines.push(data.subarray(start, nl));
    start = nl + 1;
  }
  const unterminated = start < data.length;
  if (unterminated) lines.push(data.subarray(start));
  return { file, lines, unterminated };
}

const TYPES = new Set(['decision', 'outcome', 'event', 'checkpoint', 'recovery']);
const HEX64 = /^[0-9a-f]{64}$/;

/** The record on a line if it has the envelope's shape (its hash is not checked here). */
export function parseLine(line: Buffer | string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(typeof line === 'string' ? line : line.toString('utf8'));
  } catch {
    return undefined;
  }
  const r = value as Partial<AuditRecord> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return undefined;
  if ((r.v !== 1 && r.v !== 2) || !Number.isSafeInteger(r.seq) || typeof r.ts !== 'string' || !TYPES.has(r.type as string)) return undefined;
  if (typeof r.prev !== 'string' || !HEX64.test(r.prev) || typeof r.hash !== 'string') return undefined;
  return r as AuditRecord;
}

/** True when `next` is a recovery record sealing exactly `line`'s bytes. */
export function seals(next: Buffer | undefined, line: Buffer): boolean {
  if (next === undefined) return false;
  const record = parseLine(next);
  if (record?.type !== 'recovery') return false;
  const partial = (record as RecoveryRecord).partial;
  return partial?.bytes === line.length && partial.sha256 === sha256Hex(line);
}
