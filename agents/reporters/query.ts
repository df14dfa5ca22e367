/**
 * The evidence query language of the framework files: a figure is a count,
 * distinct count, sum, median, minimum, maximum or tally (sum of per-kind
 * counts) over the records of one evidence collection, filtered by `where`
 * and optionally grouped (by fields, or by hour or day); or a value read
 * from the evidence (a configuration fact). Declarative on purpose: a
 * control is data, and every figure says which records it counted.
 */
import type { EvidenceBundle, EvidenceRecord } from '../../gateway/client/index.js';

export type Scalar = string | number | boolean | null;

/** A field's test: a value (or any of a list), or operators. */
export type FieldTest =
  | Scalar
  | Scalar[]
  | { ne?: Scalar; gt?: number; gte?: number; lt?: number; lte?: number; in?: Scalar[]; exists?: boolean; includes?: Scalar; not_in?: string };

export type Measure =
  | 'count'
  | 'size'
  | { distinct: string }
  | { sum: string }
  | { median: string }
  | { max: string }
  | { min: string }
  | { tally: string };

export interface QuerySpec {
  /** A collection: `audit` (the period's records), or a path to a list in the evidence (`pki.certificates`, `holds.holds`...). */
  from?: string;
  /** A path to one value in the evidence (`config.effective.audit.fsync`). */
  value?: string;
  where?: Record<string, FieldTest>;
  measure?: Measure;
  /** Fields to group by; `ts@hour` or `ts@day` groups a time field by hour or day. */
  group_by?: string | string[];
  /** With group_by: the largest group's figure (a peak hour, the busiest agent). */
  peak?: boolean;
}

export type FigureValue = Scalar | Scalar[] | Record<string, unknown>;

export interface Group {
  key: string[];
  value: number;
}

export interface QueryResult {
  value: FigureValue;
  groups?: Group[];
  /** The evidence sections this figure read. */
  sections: string[];
  /** Seq numbers of the audit records it counted. */
  seqs: number[];
  /** Set when a section it needs is missing: the figure is not evidence. */
  missing?: string;
}

/** A dotted path into a JSON value. */
export function pathValue(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** The numeric comparisons of field tests and status conditions. */
export const NUMERIC_TESTS = {
  gt: (a: number, b: number) => a > b,
  gte: (a: number, b: number) => a >= b,
  lt: (a: number, b: number) => a < b,
  lte: (a: number, b: number) => a <= b,
} as const;

function testField(value: unknown, test: FieldTest, bundle: EvidenceBundle): boolean {
  if (test === null || typeof test !== 'object') return value === test;
  if (Array.isArray(test)) return test.includes(value as Scalar);
  if (test.exists !== undefined && (value !== undefined && value !== null) !== test.exists) return false;
  if (test.ne !== undefined && value === test.ne) return false;
  if (test.in !== undefined && !test.in.includes(value as Scalar)) return false;
  if (test.includes !== undefined && !(Array.isArray(value) ? value.includes(test.includes) : value === test.includes)) return false;
  if (test.not_in !== undefined) {
    const list = pathValue(bundle, test.not_in);
    if (Array.isArray(list) && list.includes(value)) return false;
  }
  for (const [name, holds] of Object.entries(NUMERIC_TESTS) as Array<[keyof typeof NUMERIC_TESTS, (a: number, b: number) => boolean]>) {
    const bound = test[name];
    if (bound !== undefined && !(typeof value === 'number' && holds(value, bound))) return false;
  }
  return true;
}

function sectionOf(path: string): string {
  return path.split('.')[0] as string;
}

/** Group keys of one item: array fields count once per element. */
function fieldOf(item: unknown, field: string): unknown {
  const [path, bucket] = field.split('@') as [string, string | undefined];
  const value = pathValue(item, path);
  if (bucket === undefined || typeof value !== 'string') return value;
  return bucket === 'hour' ? `${value.slice(0, 13)}:00:00Z` : value.slice(0, 10);
}

function keysOf(item: unknown, groupBy: NonNullable<QuerySpec['group_by']>): string[][] {
  let keys: string[][] = [[]];
  for (const path of Array.isArray(groupBy) ? groupBy : [groupBy]) {
    const value = fieldOf(item, path);
    const values = Array.isArray(value) ? value.map(String) : [value === undefined || value === null ? '(none)' : String(value)];
    keys = keys.flatMap((key) => values.map((v) => [...key, v]));
  }
  return keys;
}

function numbers(items: unknown[], path: string): number[] {
  return items.map((i) => pathValue(i, path)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function measureOf(items: unknown[], measure: Measure): FigureValue {
  if (measure === 'count') return items.length;
  if (measure === 'size') return items.length;
  if ('distinct' in measure) return new Set(items.map((i) => JSON.stringify(pathValue(i, measure.distinct) ?? null))).size;
  if ('sum' in measure) return numbers(items, measure.sum).reduce((a, b) => a + b, 0);
  if ('median' in measure) return median(numbers(items, measure.median));
  if ('max' in measure) return numbers(items, measure.max).reduce<number | null>((a, b) => (a === null || b > a ? b : a), null);
  if ('min' in measure) return numbers(items, measure.min).reduce<number | null>((a, b) => (a === null || b < a ? b : a), null);
  const tally: Record<string, number> = {};
  for (const item of items) {
    const counts = pathValue(item, measure.tally);
    if (counts === null || typeof counts !== 'object') continue;
    for (const [kind, n] of Object.entries(counts)) if (typeof n === 'number') tally[kind] = (tally[kind] ?? 0) + n;
  }
  return tally;
}

function sizeOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  return value === undefined || value === null ? 0 : 1;
}

/** The list a `from` names: the period's audit records, or a list in the evidence. */
function collection(bundle: EvidenceBundle, from: string): unknown[] | undefined {
  const list = from === 'audit' ? pathValue(bundle, 'audit.records') : pathValue(bundle, from);
  return Array.isArray(list) ? list : undefined;
}

/** Whether a section the query reads is missing, and why. */
function missingSection(bundle: EvidenceBundle, path: string): string | undefined {
  const section = pathValue(bundle, sectionOf(path)) as { available?: boolean; reason?: string } | undefined;
  if (section === undefined) return `no ${sectionOf(path)} evidence`;
  return section.available === false ? (section.reason ?? `no ${sectionOf(path)} evidence`) : undefined;
}

export function runQuery(bundle: EvidenceBundle, spec: QuerySpec): QueryResult {
  const path = spec.from ?? spec.value;
  if (path === undefined) throw new Error('a query needs `from` or `value`');
  const sections = [sectionOf(path), ...Object.values(spec.where ?? {}).flatMap((t) => (t !== null && typeof t === 'object' && !Array.isArray(t) && t.not_in !== undefined ? [sectionOf(t.not_in)] : []))];
  const missing = sections.map((s) => missingSection(bundle, s)).find((m) => m !== undefined);
  if (missing !== undefined) return { value: null, sections, seqs: [], missing };
  if (spec.value !== undefined) {
    const value = pathValue(bundle, spec.value);
    return { value: spec.measure === 'size' ? sizeOf(value) : ((value ?? null) as FigureValue), sections, seqs: [] };
  }
  const items = (collection(bundle, path) ?? []).filter((item) => Object.entries(spec.where ?? {}).every(([field, test]) => testField(pathValue(item, field), test, bundle)));
  const seqs = path === 'audit' ? (items as EvidenceRecord[]).map((r) => r.seq) : [];
  const measure = spec.measure ?? 'count';
  if (spec.group_by === undefined) {
    const value = measureOf(items, measure);
    // A tally is grouped by kind already.
    if (typeof measure === 'object' && 'tally' in measure) {
      const groups = Object.entries(value as Record<string, number>).map(([kind, n]) => ({ key: [kind], value: n }));
      return { value, groups: groups.sort((a, b) => b.value - a.value), sections, seqs };
    }
    return { value, sections, seqs };
  }
  const buckets = new Map<string, { key: string[]; items: unknown[] }>();
  for (const item of items) {
    for (const key of keysOf(item, spec.group_by)) {
      const id = JSON.stringify(key);
      const bucket = buckets.get(id) ?? { key, items: [] };
      bucket.items.push(item);
      buckets.set(id, bucket);
    }
  }
  const groups = [...buckets.values()].map((b) => ({ key: b.key, value: Number(measureOf(b.items, measure) ?? 0) }));
  groups.sort((a, b) => b.value - a.value || a.key.join().localeCompare(b.key.join()));
  const value = spec.peak === true ? (groups[0]?.value ?? 0) : Object.fromEntries(groups.map((g) => [g.key.join(' / '), g.value]));
  return { value, groups, sections, seqs };
}
