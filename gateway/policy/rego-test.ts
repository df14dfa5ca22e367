/**
 * Rego unit tests, like `opa test`: every rule named `test_*` (without
 * arguments) in the folder's modules is compiled as an entrypoint of one
 * module and evaluated without input; it passes when its value is `true`.
 * Rules named `todo_test_*` are reported as skipped. `with input as ...`
 * mocking is ordinary Rego and compiled as such.
 *
 * What a test prints with `print()` is kept with its result (as `opa test -v`
 * shows it), and with `coverage` the run also reports which lines of the
 * policy the tests evaluated (./coverage-report.ts).
 */
import { parseModule } from './rego/parser.js';
import { PolicyEngine, PolicyEvaluationError } from './engine/engine.js';
import { compile } from './compile.js';
import { isTestModule, type PolicySources } from './bundle/sources.js';
import { COVERAGE_BUILTIN, CoverageMarks } from './compiler/coverage.js';
import { coverageReport, type CoverageReport } from './coverage-report.js';
import { HOST_PREFIX } from './builtins/wire.js';

export type TestOutcome = 'pass' | 'fail' | 'error' | 'skip';

export interface RegoTestResult {
  /** `data.<package>.<rule>` */
  name: string;
  file: string;
  outcome: TestOutcome;
  /** Why it failed or errored (no input values: tests have none). */
  reason?: string;
  durationUs: number;
  /** Lines the test printed with print(). */
  output: string[];
}

export interface RegoTestReport {
  results: RegoTestResult[];
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  /** With `coverage`: the lines of the policy's (non-test) modules the tests evaluated. */
  coverage?: CoverageReport;
}

export interface RegoTestOptions {
  /** Only tests whose `data.<package>.<rule>` name matches. */
  filter?: RegExp;
  coverage?: boolean;
}

/**
 * Runs `evaluate` and returns what it printed: the npm loader writes print()
 * lines with console.log, synchronously inside the evaluation, so the lines
 * logged in between are the test's.
 */
function capturePrinted<T>(evaluate: () => T): { value: T; printed: string[] } {
  const printed: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]): void => {
    printed.push(args.map(String).join(' '));
  };
  try {
    return { value: evaluate(), printed };
  } finally {
    console.log = original;
  }
}

interface TestCase {
  entrypoint: string;
  name: string;
  file: string;
  skip: boolean;
}

function findTests(modules: Record<string, string>, filter?: RegExp): TestCase[] {
  const cases = new Map<string, TestCase>();
  for (const [file, source] of Object.entries(modules)) {
    const module = parseModule(source, file);
    for (const rule of module.rules) {
      const ref = rule.head.ref;
      if (ref.type !== 'var' || rule.head.args !== undefined) continue;
      const skip = ref.name.startsWith('todo_test_');
      if (!skip && !ref.name.startsWith('test_')) continue;
      const path = [...module.package, ref.name];
      const name = `data.${path.join('.')}`;
      if (filter && !filter.test(name)) continue;
      if (!cases.has(name)) cases.set(name, { entrypoint: path.join('/'), name, file, skip });
    }
  }
  return [...cases.values()];
}

/** Runs the folder's tests; throws RegoError when the modules do not compile. */
export function runRegoTests(sources: Pick<PolicySources, 'modules' | 'data'>, options: RegoTestOptions = {}): RegoTestReport {
  const tests = findTests(sources.modules, options.filter);
  const report: RegoTestReport = { results: [], passed: 0, failed: 0, errored: 0, skipped: 0 };
  const runnable = tests.filter((t) => !t.skip);
  const marks = options.coverage ? new CoverageMarks() : undefined;
  const hits = new Set<number>();
  const engine = runnable.length === 0 ? undefined : new PolicyEngine(
    compile({ modules: sources.modules, entrypoints: runnable.map((t) => t.entrypoint), ...(marks ? { coverage: marks } : {}) }),
    {
      revision: 'rego-test',
      data: sources.data,
      // The engine requires one entrypoint to exist; the tests choose theirs per call.
      entrypoint: runnable[0]?.entrypoint,
      ...(marks ? { builtins: { [HOST_PREFIX + COVERAGE_BUILTIN]: (argsText: string): string => markHit(argsText, hits) } } : {}),
    },
  );
  for (const test of tests) {
    const started = process.hrtime.bigint();
    let outcome: TestOutcome = 'skip';
    let reason: string | undefined;
    let output: string[] = [];
    if (engine !== undefined && !test.skip) {
      try {
        const { value: resultSet, printed } = capturePrinted(() => engine.evaluate(undefined, test.entrypoint) as Array<{ result?: unknown }>);
        output = printed;
        const value = resultSet[0]?.result;
        outcome = value === true ? 'pass' : 'fail';
        if (value === undefined) reason = 'undefined';
        else if (value !== true) reason = `value is ${JSON.stringify(value).slice(0, 80)}`;
      } catch (err) {
        outcome = 'error';
        reason = err instanceof PolicyEvaluationError ? err.reason : 'evaluation error';
      }
    }
    const durationUs = Number(process.hrtime.bigint() - started) / 1000;
    report.results.push({ name: test.name, file: test.file, outcome, ...(reason === undefined ? {} : { reason }), durationUs, output });
    if (outcome === 'pass') report.passed++;
    else if (outcome === 'fail') report.failed++;
    else if (outcome === 'error') report.errored++;
    else report.skipped++;
  }
  // With no test to run, the policy is still compiled for its marks: all of it is then uncovered.
  if (marks !== undefined && engine === undefined) compile({ modules: sources.modules, entrypoints: [], coverage: marks });
  if (marks !== undefined) report.coverage = coverageReport(marks.marks, hits, (file) => !isTestModule(file) && Object.hasOwn(sources.modules, file));
  return report;
}

/** The coverage built-in: records the mark's number (its one argument) and succeeds. */
function markHit(argsText: string, hits: Set<number>): string {
  const [id] = JSON.parse(argsText) as [number];
  hits.add(id);
  return 'true';
}
