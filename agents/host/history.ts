/**
 * The runs folder: one JSONL transcript per run, named by its id. Run ids
 * start with the start time, so names sort by age; reading is bounded (the
 * newest `limit` runs) and skips lines that are not whole JSON (a run still
 * writing its last line).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TranscriptEntry } from '../run/transcript.js';
import { RunProgress } from './progress.js';
import type { RunView } from './progress.js';

/** `20250102T030405Z-1a2b3c`: UTC start time, then 24 random bits. */
export const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function transcriptFile(runsDir: string, id: string): string {
  return path.join(runsDir, `${id}.jsonl`);
}

/** The entries of a run's transcript, or undefined when there is no such run. */
export function readTranscript(runsDir: string, id: string): TranscriptEntry[] | undefined {
  if (!RUN_ID.test(id)) return undefined;
  const file = transcriptFile(runsDir, id);
  if (!existsSync(file)) return undefined;
  const entries: TranscriptEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry: unknown = JSON.parse(line);
      if (entry !== null && typeof entry === 'object' && typeof (entry as TranscriptEntry).type === 'string') entries.push(entry as TranscriptEntry);
    } catch {
      // A line still being written.
    }
  }
  return entries;
}

/** The ids of the newest `limit` runs in the folder, newest first. */
export function runIds(runsDir: string, limit: number): string[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .filter((name) => name.endsWith('.jsonl') && RUN_ID.test(name.slice(0, -'.jsonl'.length)))
    .map((name) => name.slice(0, -'.jsonl'.length))
    .sort()
    .reverse()
    .slice(0, limit);
}

/** A run read back from its transcript. */
export function recordedRun(runsDir: string, id: string): RunView | undefined {
  const entries = readTranscript(runsDir, id);
  return entries === undefined ? undefined : RunProgress.fromEntries(id, entries).snapshot();
}

/** The newest `limit` runs of the folder, newest first. */
export function runHistory(runsDir: string, limit: number): RunView[] {
  return runIds(runsDir, limit).flatMap((id) => recordedRun(runsDir, id) ?? []);
}
