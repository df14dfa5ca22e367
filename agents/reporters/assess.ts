/**
 * Assesses one framework against the evidence: each control's figures from
 * its queries, its status from its rules, and the records that support it
 * (seq ranges, files, the checkpoints that seal them). A control whose
 * evidence is missing, or rests on an audit trail that did not verify, is
 * "insufficient evidence" whatever its rules say.
 */
import { sealingCheckpoints, type CheckpointRef, type EvidenceBundle } from '../../gateway/client/index.js';
import { type Condition, type Control, type Framework, type Operand, type Status, STATUSES } from './framework.js';
import { type FigureValue, type Group, NUMERIC_TESTS, type QuerySpec, runQuery } from './query.js';
import { type SubjectAccess, subjectAccess } from './subject.js';

export interface RecordSupport {
  count: number;
  /** Inclusive seq ranges, oldest first; at most MAX_RANGES (`more` counts the rest). */
  ranges: Array<[number, number]>;
  more: number;
  files: string[];
}

export interface ControlResult {
  id: string;
  title: string;
  claim: string;
  status: Status;
  because?: string;
  figures: Record<string, FigureValue>;
  evidence: { sections: string[]; records: RecordSupport; checkpoints: Array<{ seq: number; hash: string }>; rules: string[] };
}

export interface AuditStatement {
  status: 'verified' | 'tampered' | 'unverifiable' | 'unavailable';
  /** What the first page says about the trail, in one sentence. */
  statement: string;
  signatures_checked: boolean;
  records_in_period: number;
  first_seq: number | null;
  last_seq: number | null;
  checkpoints: CheckpointRef[];
  unsealed: { from_seq: number; to_seq: number } | null;
  files: string[];
  warnings: string[];
}

export interface Report {
  report: {
    framework: string;
    title: string;
    reference: string;
    generated_at: string;
    period: { from: string | null; to: string | null };
    source: string;
  };
  audit: AuditStatement;
  summary: Record<Status, number>;
  controls: ControlResult[];
  charts: Record<string, Group[]>;
  subject_access?: SubjectAccess;
}

const MAX_RANGES = 50;

export function ranges(seqs: number[]): Array<[number, number]> {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const seq of sorted) {
    const last = out.at(-1);
    if (last !== undefined && seq === last[1] + 1) last[1] = seq;
    else out.push([seq, seq]);
  }
  return out;
}

function auditStatement(bundle: EvidenceBundle): AuditStatement {
  const audit = bundle.audit;
  if (!audit.available) {
    return { status: 'unavailable', statement: `No audit trail: ${audit.reason}.`, signatures_checked: false, records_in_period: 0, first_seq: null, last_seq: null, checkpoints: [], unsealed: null, files: [], warnings: [] };
  }
  const v = audit.verification;
  const statement =
    v.status === 'verified'
      ? `The audit trail verified: ${v.records} records in ${v.files} file(s), hash chain intact and ${v.checkpoints} checkpoint signature(s) valid.`
      : v.status === 'tampered'
        ? `The audit trail FAILED verification: ${v.problem?.kind ?? 'problem'} at ${v.problem?.file ?? '?'}:${v.problem?.line ?? '?'}${v.problem?.seq === undefined ? '' : ` (seq ${v.problem.seq})`}: ${v.problem?.message ?? ''}. Every control that depends on it is insufficient evidence.`
        : 'The audit trail could not be verified: the checkpoint signatures were not checked (no gateway key). Every control that depends on it is insufficient evidence.';
  const records = audit.records;
  return {
    status: v.status,
    statement,
    signatures_checked: v.signatures_checked,
    records_in_period: records.length,
    first_seq: records[0]?.seq ?? null,
    last_seq: records.at(-1)?.seq ?? null,
    checkpoints: audit.checkpoints,
    unsealed: audit.unsealed,
    files: [...new Set(records.map((r) => r.file))],
    warnings: v.warnings,
  };
}

function operandValue(operand: Operand, figures: Record<string, FigureValue>): unknown {
  return operand !== null && typeof operand === 'object' && !Array.isArray(operand) ? figures[operand.figure] : operand;
}

function holds(condition: Condition, figures: Record<string, FigureValue>): boolean {
  if ('all' in condition) return condition.all.every((c) => holds(c, figures));
  if ('any' in condition) return condition.any.some((c) => holds(c, figures));
  if ('not' in condition) return !holds(condition.not, figures);
  const value = figures[condition.figure];
  const num = (o: Operand | undefined): number | undefined => {
    const v = o === undefined ? undefined : operandValue(o, figures);
    return typeof v === 'number' ? v : undefined;
  };
  const checks: Array<[Operand | undefined, (other: unknown) => boolean]> = [
    [condition.eq, (o) => JSON.stringify(value) === JSON.stringify(o)],
    [condition.ne, (o) => JSON.stringify(value) !== JSON.stringify(o)],
    [condition.in, (o) => Array.isArray(o) && o.some((x) => JSON.stringify(x) === JSON.stringify(value))],
    [condition.includes, (o) => (Array.isArray(value) ? value.includes(o as never) : value === o)],
  ];
  for (const [operand, test] of checks) if (operand !== undefined && !test(operandValue(operand, figures))) return false;
  for (const [name, test] of Object.entries(NUMERIC_TESTS) as Array<[keyof typeof NUMERIC_TESTS, (a: number, b: number) => boolean]>) {
    const operand = condition[name];
    if (operand === undefined) continue;
    const bound = num(operand);
    if (typeof value !== 'number' || bound === undefined || !test(value, bound)) return false;
  }
  if (condition.exists !== undefined && (value !== null && value !== undefined) !== condition.exists) return false;
  return true;
}

function support(bundle: EvidenceBundle, seqs: number[]): ControlResult['evidence']['records'] & { checkpoints: ControlResult['evidence']['checkpoints'] } {
  const all = ranges(seqs);
  const records = bundle.audit.available ? bundle.audit.records : [];
  const wanted = new Set(seqs);
  const files = [...new Set(records.filter((r) => wanted.has(r.seq)).map((r) => r.file))];
  const checkpoints = bundle.audit.available && seqs.length > 0 ? sealingCheckpoints(bundle.audit.checkpoints, Math.min(...seqs), Math.max(...seqs)).map((c) => ({ seq: c.seq, hash: c.hash })) : [];
  return { count: wanted.size, ranges: all.slice(0, MAX_RANGES), more: Math.max(0, all.length - MAX_RANGES), files, checkpoints };
}

function statusOf(control: Control, results: ReturnType<typeof runQuery>[], figures: Record<string, FigureValue>, bundle: EvidenceBundle, subject: boolean): { status: Status; because?: string } {
  if (control.requires === 'subject' && !subject) return { status: 'not applicable', because: 'assessed for a subject access request: run the report with --subject <identifier>' };
  const missing = results.find((r) => r.missing !== undefined)?.missing;
  if (missing !== undefined) return { status: 'insufficient evidence', because: missing };
  const audit = bundle.audit;
  if (results.some((r) => r.sections.includes('audit') || r.sections.includes('subject')) && audit.available && audit.verification.status !== 'verified') {
    return { status: 'insufficient evidence', because: `the audit trail is ${audit.verification.status}` };
  }
  const rule = control.status.find((r) => r.when === undefined || holds(r.when, figures)) ?? { is: 'not met' as const };
  return rule.because === undefined ? { status: rule.is } : { status: rule.is, because: rule.because };
}

/** Charts every report draws, from the shared queries named chart_*. */
function charts(bundle: EvidenceBundle, queries: Record<string, QuerySpec>): Record<string, Group[]> {
  return Object.fromEntries(
    Object.entries(queries)
      .filter(([name]) => name.startsWith('chart_'))
      .map(([name, spec]) => [name.slice('chart_'.length), runQuery(bundle, spec).groups ?? []]),
  );
}

/** Policy rules whose `# METADATA` custom.controls name this control (`<framework>:<control>`). */
function linkedRules(bundle: EvidenceBundle, control: string): string[] {
  if (!bundle.policy.available) return [];
  return bundle.policy.annotations.filter((a) => a.controls.includes(control)).map((a) => `${a.file}: ${a.rule}`);
}

export interface AssessOptions {
  period: { from?: string; to?: string };
  subject?: string;
  now?: Date;
}

export function assess(framework: Framework, queries: Record<string, QuerySpec>, bundle: EvidenceBundle, options: AssessOptions): Report {
  const access = options.subject === undefined ? undefined : subjectAccess(bundle, options.subject);
  // The subject's matches are a collection of their own (`from: subject.records`).
  const evidence = { ...bundle, subject: access === undefined ? { available: false, reason: 'no subject access request' } : { available: true, ...access } } as EvidenceBundle;
  const controls = framework.controls.map((control): ControlResult => {
    const named = Object.entries(control.figures).map(([name, figure]) => [name, runQuery(evidence, typeof figure === 'string' ? (queries[figure] as QuerySpec) : figure)] as const);
    const figures = Object.fromEntries(named.map(([name, r]) => [name, r.value]));
    const results = named.map(([, r]) => r);
    const verdict = statusOf(control, results, figures, evidence, access !== undefined);
    const subjectSeqs = results.some((r) => r.sections.includes('subject')) ? (access?.records.map((r) => r.seq) ?? []) : [];
    const { checkpoints, ...records } = support(evidence, [...results.flatMap((r) => r.seqs), ...subjectSeqs]);
    return {
      id: control.id,
      title: control.title,
      claim: control.claim,
      ...verdict,
      figures,
      evidence: { sections: [...new Set(results.flatMap((r) => r.sections))], records, checkpoints, rules: linkedRules(evidence, `${framework.id}:${control.id}`) },
    };
  });
  const summary = Object.fromEntries([...STATUSES, 'insufficient evidence'].map((s) => [s, controls.filter((c) => c.status === s).length])) as Record<Status, number>;
  const report: Report = {
    report: {
      framework: framework.id,
      title: framework.title,
      reference: framework.reference,
      generated_at: (options.now ?? new Date()).toISOString(),
      period: { from: options.period.from ?? null, to: options.period.to ?? null },
      source: bundle.source,
    },
    audit: auditStatement(bundle),
    summary,
    controls,
    charts: charts(bundle, queries),
  };
  if (access !== undefined) report.subject_access = access;
  return report;
}
