/**
 * `portcullis policy shadow-report --audit <dir> [--since T] [--until T] [--json]`:
 * what the shadow candidate (policy.shadow) would have changed, from the
 * `policy-shadow` events the gateway wrote to its audit trail. The same
 * summary as `policy replay` (policy/shadow/summary.ts), made of recorded,
 * sanitized fields only.
 */
import { parseArgs } from 'node:util';
import type { ControlRecord } from '../audit/events.js';
import { queryAudit } from '../audit/query.js';
import type { AuditFilter } from '../audit/query.js';
import { CHANGES } from '../policy/shadow/compare.js';
import type { Change, Outcome } from '../policy/shadow/compare.js';
import { DisagreementSummary, formatSummary } from '../policy/shadow/summary.js';
import type { Disagreement, SummaryReport } from '../policy/shadow/summary.js';
import { sanitizeText } from '../sanitize/text.js';
import { UsageError } from './args.js';
import { terminalSafeJson, timeBound } from './audit.js';
import type { Io } from './policy.js';

export const WINDOW_OPTIONS = {
  audit: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The audit folder and time window of a report; a UsageError when they are not given right. */
export function auditWindow(values: { audit?: string | undefined; since?: string | undefined; until?: string | undefined }): { dir: string; filter: AuditFilter } {
  if (values.audit === undefined) throw new UsageError('missing --audit <dir>');
  const filter: AuditFilter = {};
  const since = timeBound('since', values.since);
  const until = timeBound('until', values.until);
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  return { dir: values.audit, filter };
}

/** The report as text (sanitized again: a hand-edited trail may hold anything) or as JSON. */
export function printReport(report: SummaryReport, json: boolean | undefined, io: Io): void {
  if (json === true) io.stdout(`${terminalSafeJson(report)}\n`);
  else io.stdout(formatSummary(report).split('\n').map((line) => sanitizeText(line)).join('\n'));
}

type StrictParse<T extends Record<string, { type: 'string' | 'boolean' }>> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

/** node:util parseArgs typed by the options given; a bad option is a UsageError. */
export function parseWindowArgs<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], options: T): StrictParse<T> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : 'invalid arguments');
  }
}

const OUTCOMES = new Set<string>(['allow', 'hold', 'deny']);

function side(value: unknown): Disagreement['live'] | undefined {
  const v = value as { decision?: unknown; revision?: unknown; reasons?: unknown } | null;
  if (typeof v !== 'object' || v === null || !OUTCOMES.has(v.decision as string) || typeof v.revision !== 'string') return undefined;
  const reasons = Array.isArray(v.reasons) ? v.reasons.filter((r): r is string => typeof r === 'string') : [];
  return { decision: v.decision as Outcome, revision: v.revision, reasons };
}

/** A disagreement from a `policy-shadow` event; undefined when the record does not have that shape. */
export function shadowDisagreement(record: ControlRecord): Disagreement | undefined {
  if (record.control !== 'policy-shadow' || !(CHANGES as readonly string[]).includes(record.event)) return undefined;
  const d = record.details as Record<string, unknown>;
  const live = side(d.live);
  const candidate = side(d.candidate);
  if (live === undefined || candidate === undefined || typeof d.server !== 'string' || typeof d.method !== 'string') return undefined;
  const agent = typeof d.agent === 'string' ? d.agent : typeof d.agent_id === 'string' ? d.agent_id : 'unknown';
  const disagreement: Disagreement = { change: record.event as Change, agent, server: d.server, method: d.method, at: record.ts, live, candidate };
  if (typeof d.tool === 'string') disagreement.tool = d.tool;
  if (typeof d.call_id === 'string') disagreement.call_id = d.call_id;
  return disagreement;
}

export async function shadowReport(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseWindowArgs(args, WINDOW_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const { dir, filter } = auditWindow(values);
  const summary = new DisagreementSummary();
  for await (const record of queryAudit(dir, { ...filter, type: 'event' })) {
    const disagreement = shadowDisagreement(record as ControlRecord);
    if (disagreement !== undefined) summary.add(disagreement);
  }
  printReport(summary.report(), values.json, io);
  return 0;
}
