/**
 * Audit files on disk: `audit-<first seq, 12 digits>.jsonl` in one folder,
 * ordered by that sequence number, and reading the tail of the newest one.
 */
import { readdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

const NAME = /^audit-(\d{12})\.jsonl$/;

export function auditFileName(firstSeq: number): string {
  return `audit-${String(firstSeq).padStart(12, '0')}.jsonl`;
}

/** The first seq a file's name announces, or undefined for another name. */
export function firstSeqOfName(file: string): number | undefined {
  const m = NAME.exec(path.basename(file));
  return m ? Number(m[1]) : undefined;
}

/** The audit files of a folder, oldest first. Other files are ignored. */
export async function listAuditFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => NAME.test(n));
  names.sort((a, b) => (firstSeqOfName(a) as number) - (firstSeqOfName(b) as number));
  return names.map((n) => path.join(dir, n));
}

export interface FileTail {
  /** The last newline-terminated line, without the newline; undefined when there is none. */
  lastLine?: string;
  /** Bytes after the last newline: a record torn by a crash. */
  partial?: Buffer;
}

const CHUNK = 64 * 1024;

/** Reads backwards until the last complete line is in hand: cost bounded by the line, not the file. */
export async function readTail(handle: FileHandle): Promise<FileTail> {
  const { size } = await handle.stat();
  let buffer = Buffer.alloc(0);
  let start = size;
  for (;;) {
    const lastNl = buffer.lastIndexOf(0x0a);
    const prevNl = lastNl > 0 ? buffer.lastIndexOf(0x0a, lastNl - 1) : -1;
    if ((prevNl >= 0 || start === 0) && (lastNl >= 0 || start === 0)) {
      const partial = buffer.subarray(lastNl + 1);
      return {
        lastLine: lastNl >= 0 ? buffer.subarray(prevNl + 1, lastNl).toString('utf8') : undefined,
        partial: partial.length > 0 ? Buffer.from(partial) : undefined,
      };
    }
    const length = Math.min(CHUNK, start);
    start -= length;
    const chunk = Buffer.alloc(length);
    const { bytesRead } = await handle.read(chunk, 0, length, start);
    buffer = Buffer.concat([chunk.subarray(0, bytesRead), buffer]);
  }
}
