/**
 * A run's transcript: one JSON object per line (JSONL), appended as things
 * happen: the plan, each model exchange with its token counts, each tool
 * call with the gateway session and identity, failovers, holds, timings.
 * Every line goes through the gateway's sanitizer first: a secret a model or
 * a tool produced is redacted before it reaches the file.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { redactJson } from '../../gateway/client/index.js';

export interface TranscriptEntry {
  type: string;
  [field: string]: unknown;
}

export class Transcript {
  /** Entries as written (sanitized), for the live view and tests. */
  readonly entries: TranscriptEntry[] = [];

  constructor(
    readonly runId: string,
    /** The JSONL file; undefined keeps the transcript in memory only. */
    readonly file: string | undefined,
  ) {
    if (file !== undefined) mkdirSync(path.dirname(file), { recursive: true });
  }

  write(entry: TranscriptEntry): void {
    const line = redactJson({ at: new Date().toISOString(), run: this.runId, ...entry }).value as TranscriptEntry;
    this.entries.push(line);
    if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}
