/**
 * The index of the hosted compliance reports, `<reports.dir>/index.json`:
 * written by the report host (gateway/reports), read by the admin API that
 * lists the reports and serves their files. A report file is reached only
 * through its index entry: a request names an entry (run id and file name),
 * the path is built from what the index holds, never from the request.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPORT_INDEX, type REPORT_FORMATS } from '../config/reports-schema.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The file name ending of each format. */
export const REPORT_EXTENSIONS: Record<ReportFormat, string> = { json: 'json', html: 'html', pdf: 'pdf', oscal: 'oscal.json' };

export interface IndexEntry {
  /** The run's folder under reports.dir (its time); every framework of one run shares it. */
  id: string;
  framework: string;
  generated_at: string;
  period: { from: string; to: string };
  /** The audit verification result the report states. */
  audit: string;
  /** Controls per status: the scorecard. */
  summary: Record<string, number>;
  sha256: string;
  /** File names in the run's folder, by format. */
  files: Partial<Record<ReportFormat, string>>;
}

/** A run id as the host makes it (a time with `:` and `.` as `-`): nothing else names a folder. */
const RUN_ID = /^[0-9TZ-]+$/;

export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

/** The entries of the index, newest first; none when there is no index yet. */
export function readReportIndex(dir: string): IndexEntry[] {
  const file = path.join(dir, REPORT_INDEX);
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { reports?: IndexEntry[] }).reports ?? [];
}

export function writeReportIndex(dir: string, entries: readonly IndexEntry[]): void {
  writeFileAtomic(path.join(dir, REPORT_INDEX), `${JSON.stringify({ reports: entries }, null, 2)}\n`);
}

export interface IndexedFile {
  entry: IndexEntry;
  format: ReportFormat;
  file: string;
}

/**
 * The report file the index lists under run `id` as `name`, or undefined.
 * The index's own id and name must look like the host's (a run-time folder,
 * a plain file name), so even an edited index cannot point outside `dir`.
 */
export function indexedReportFile(dir: string, id: string, name: string): IndexedFile | undefined {
  for (const entry of readReportIndex(dir)) {
    if (entry.id !== id || !isRunId(entry.id)) continue;
    for (const [format, listed] of Object.entries(entry.files) as Array<[ReportFormat, string]>) {
      if (listed === name && path.basename(listed) === listed && !listed.startsWith('.')) return { entry, format, file: path.join(dir, entry.id, listed) };
    }
  }
  return undefined;
}
