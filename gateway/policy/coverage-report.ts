/**
 * Line coverage of a test run (`policy test --coverage`): which source lines
 * of the policy's expressions and rule heads were evaluated, per file and
 * per rule, in the JSON shape of `opa test --coverage` (ranges of rows)
 * plus a per-rule breakdown. A line counts as covered when anything on it
 * was evaluated; test modules are left out (they are what runs the rest).
 */
import type { CoverageMark } from './compiler/coverage.js';

export interface RowRange {
  start: { row: number };
  end: { row: number };
}

export interface LineCounts {
  covered_lines: number;
  not_covered_lines: number;
  /** Percent of lines covered, two decimals; 100 when nothing is countable. */
  coverage: number;
}

export interface RuleCoverage extends LineCounts {
  /** Below `data`: `portcullis.allow`. */
  name: string;
  /** The first line of the rule's first definition. */
  line: number;
  not_covered: RowRange[];
}

export interface FileCoverage extends LineCounts {
  covered: RowRange[];
  not_covered: RowRange[];
  rules: RuleCoverage[];
}

export interface CoverageReport extends LineCounts {
  files: Record<string, FileCoverage>;
}

function counts(covered: number, notCovered: number): LineCounts {
  const total = covered + notCovered;
  return { covered_lines: covered, not_covered_lines: notCovered, coverage: total === 0 ? 100 : Math.round((covered / total) * 10_000) / 100 };
}

/** Sorted rows folded into ranges of consecutive rows. */
export function rowRanges(rows: Iterable<number>): RowRange[] {
  const ranges: RowRange[] = [];
  for (const row of [...rows].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.end.row + 1 === row) last.end.row = row;
    else ranges.push({ start: { row }, end: { row } });
  }
  return ranges;
}

/** Lines with some evaluated mark are covered; lines whose marks were all skipped are not. */
function split(marks: Array<{ mark: CoverageMark; hit: boolean }>): { covered: Set<number>; notCovered: Set<number> } {
  const covered = new Set<number>();
  for (const { mark, hit } of marks) if (hit) covered.add(mark.loc.line);
  const notCovered = new Set<number>();
  for (const { mark } of marks) if (!covered.has(mark.loc.line)) notCovered.add(mark.loc.line);
  return { covered, notCovered };
}

export function coverageReport(marks: readonly CoverageMark[], hits: ReadonlySet<number>, includeFile: (file: string) => boolean): CoverageReport {
  const byFile = new Map<string, Array<{ mark: CoverageMark; hit: boolean }>>();
  marks.forEach((mark, id) => {
    if (!includeFile(mark.loc.file)) return;
    let list = byFile.get(mark.loc.file);
    if (list === undefined) byFile.set(mark.loc.file, (list = []));
    list.push({ mark, hit: hits.has(id) });
  });
  const files: Record<string, FileCoverage> = {};
  let covered = 0;
  let notCovered = 0;
  for (const file of [...byFile.keys()].sort()) {
    const list = byFile.get(file)!;
    const lines = split(list);
    const byRule = new Map<string, Array<{ mark: CoverageMark; hit: boolean }>>();
    for (const entry of list) {
      const ruleMarks = byRule.get(entry.mark.rule);
      if (ruleMarks === undefined) byRule.set(entry.mark.rule, [entry]);
      else ruleMarks.push(entry);
    }
    const rules = [...byRule].map(([name, ruleMarks]): RuleCoverage => {
      const r = split(ruleMarks);
      return { name, line: Math.min(...ruleMarks.map((m) => m.mark.loc.line)), ...counts(r.covered.size, r.notCovered.size), not_covered: rowRanges(r.notCovered) };
    }).sort((a, b) => a.line - b.line);
    files[file] = { covered: rowRanges(lines.covered), not_covered: rowRanges(lines.notCovered), ...counts(lines.covered.size, lines.notCovered.size), rules };
    covered += lines.covered.size;
    notCovered += lines.notCovered.size;
  }
  return { files, ...counts(covered, notCovered) };
}
