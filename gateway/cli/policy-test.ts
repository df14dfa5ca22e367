/**
 * `portcullis policy test [dir] [--run <regex>] [-v] [--coverage] [--format text|json] [--threshold <percent>]`:
 * the folder's Rego unit tests, like `opa test`.
 * - a failing or erroring test, and with -v every test, is listed with what
 *   it printed (print()), indented under it;
 * - --coverage adds the line coverage of the policy (test files left out):
 *   per file and per rule, lines not covered as ranges;
 * - --format json prints one JSON document: the results and, with
 *   --coverage, the report in the shape of `opa test --coverage`;
 * - --threshold N (implies --coverage) exits 1 when the coverage is below N
 *   percent, even when every test passed.
 */
import { readPolicySources } from '../policy/bundle/sources.js';
import type { CoverageReport, RowRange } from '../policy/coverage-report.js';
import { runRegoTests } from '../policy/rego-test.js';
import type { RegoTestReport } from '../policy/rego-test.js';
import { parse, stringOption, UsageError } from './args.js';
import { DEFAULT_POLICY_DIR } from './policy-files.js';
import type { Io } from './policy.js';

function formatUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(1)}ms` : `${Math.round(us)}µs`;
}

function rows(ranges: RowRange[]): string {
  return ranges.map((r) => (r.start.row === r.end.row ? `${r.start.row}` : `${r.start.row}-${r.end.row}`)).join(', ');
}

function printResults(report: RegoTestReport, verbose: boolean, io: Io): void {
  let file: string | undefined;
  for (const result of report.results) {
    if (result.outcome === 'pass' && !verbose) continue;
    if (result.file !== file) {
      file = result.file;
      io.stdout(`${file}:\n`);
    }
    const why = result.reason === undefined ? '' : ` — ${result.reason}`;
    io.stdout(`${result.name}: ${result.outcome.toUpperCase()} (${formatUs(result.durationUs)})${why}\n`);
    for (const line of result.output) io.stdout(`  ${line}\n`);
  }
  const total = report.results.length;
  io.stdout(`${'-'.repeat(80)}\n`);
  if (total === 0) {
    io.stdout('no tests found\n');
    return;
  }
  const summary = [`PASS: ${report.passed}/${total}`];
  if (report.failed > 0) summary.push(`FAIL: ${report.failed}/${total}`);
  if (report.errored > 0) summary.push(`ERROR: ${report.errored}/${total}`);
  if (report.skipped > 0) summary.push(`SKIPPED: ${report.skipped}/${total}`);
  io.stdout(`${summary.join('\n')}\n`);
}

function printCoverage(coverage: CoverageReport, io: Io): void {
  io.stdout('coverage:\n');
  for (const [file, f] of Object.entries(coverage.files)) {
    io.stdout(`${file}: ${f.coverage.toFixed(2)}% (${f.covered_lines}/${f.covered_lines + f.not_covered_lines} lines)\n`);
    for (const r of f.rules) {
      const missing = r.not_covered.length === 0 ? '' : `  not covered: ${rows(r.not_covered)}`;
      io.stdout(`  ${r.name} (line ${r.line}): ${r.coverage.toFixed(2)}%${missing}\n`);
    }
  }
  io.stdout(`total: ${coverage.coverage.toFixed(2)}% (${coverage.covered_lines}/${coverage.covered_lines + coverage.not_covered_lines} lines)\n`);
}

function threshold(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new UsageError('--threshold takes a percentage from 0 to 100');
  return n;
}

export async function test(args: string[], io: Io): Promise<number> {
  const parsed = parse(args.map((a) => (a === '-r' ? '--run' : a === '-v' ? '--verbose' : a)), ['run', 'format', 'threshold'], ['verbose', 'coverage']);
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  let filter: RegExp | undefined;
  const run = stringOption(parsed, 'run');
  if (run !== undefined) {
    try {
      filter = new RegExp(run);
    } catch {
      throw new UsageError('--run is not a valid regular expression');
    }
  }
  const format = stringOption(parsed, 'format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError('--format is text or json');
  const minimum = threshold(stringOption(parsed, 'threshold'));
  const coverage = values.coverage === true || minimum !== undefined;
  const report = runRegoTests(readPolicySources(positionals[0] ?? DEFAULT_POLICY_DIR), { ...(filter ? { filter } : {}), coverage });
  if (format === 'json') {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    printResults(report, values.verbose === true, io);
    if (report.coverage !== undefined) printCoverage(report.coverage, io);
  }
  const below = minimum !== undefined && report.coverage !== undefined && report.coverage.coverage < minimum;
  if (below) io.stderr(`coverage ${report.coverage!.coverage.toFixed(2)}% is below the threshold of ${minimum}%\n`);
  return report.failed + report.errored > 0 || below ? 1 : 0;
}
