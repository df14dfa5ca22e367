/**
 * A run's transcript: one JSON object per line (JSONL), appended as things
 * happen: the plan, each model exchange with its token counts, each tool
 * call with the gateway session, identity and audit call id (`call_id`, the
 * `call_id` of the gateway's audit records of that call), failovers, holds,
 * timings.
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
  /** The run id as every line carries it: sanitized once, not on every line. */
  private readonly run: unknown;

  constructor(
    readonly runId: string,
    /** The JSONL file; undefined keeps the transcript in memory only. */
    readonly file: string | undefined,
  ) {
    this.run = redactJson(runId).value;
    if (file !== undefined) mkdirSync(path.dirname(file), { recursive: true });
  }

  /**
   * Sanitizes and appends one line, synchronously: a reader of the file (the
   * run history, `agents show`) sees every line once the run has ended, and a
   * crash loses none already written.
   */
  write(entry: TranscriptEntry): void {
    // The timestamp is made here; only the entry needs the sanitizer.
    const line = { at: new Date().toISOString(), run: this.run, ...(redactJson(entry).value as TranscriptEntry) };
    this.entries.push(line);
    if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}
