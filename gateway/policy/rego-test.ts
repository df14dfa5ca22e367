/**
 * Rego unit tests, like `opa test`: every rule named `test_*` (without
 * arguments) in the folder's modules is compiled as an entrypoint of one
 * module and evaluated without input; it passes when its value is `true`.
 * Rules named `todo_test_*` are reported as skipped. `with input as ...`
 * mocking is ordinary Rego and compiled as such.
 */
import { parseModule } from './rego/parser.js';
import { PolicyEngine, PolicyEvaluationError } from './engine/engine.js';
import { compile } from './compile.js';
import type { PolicySources } from './bundle/sources.js';

export type TestOutcome = 'pass' | 'fail' | 'error' | 'skip';

export interface RegoTestResult {
  /** `data.<package>.<rule>` */
  name: string;
  file: string;
  outcome: TestOutcome;
  /** Why it failed or errored (no input values: tests have none). */
  reason?: string;
  durationUs: number;
}

export interface RegoTestReport {
  results: RegoTestResult[];
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
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
export function runRegoTests(sources: Pick<PolicySources, 'modules' | 'data'>, filter?: RegExp): RegoTestReport {
  const tests = findTests(sources.modules, filter);
  const report: RegoTestReport = { results: [], passed: 0, failed: 0, errored: 0, skipped: 0 };
  const runnable = tests.filter((t) => !t.skip);
  const engine = runnable.length === 0 ? undefined : new PolicyEngine(
    compile({ modules: sources.modules, entrypoints: runnable.map((t) => t.entrypoint) }),
    // The engine requires one entrypoint to exist; the tests choose theirs per call.
    { revision: 'rego-test', data: sources.data, entrypoint: runnable[0]?.entrypoint },
  );
  for (const test of tests) {
    const started = process.hrtime.bigint();
    let outcome: TestOutcome = 'skip';
    let reason: string | undefined;
    if (engine !== undefined && !test.skip) {
      try {
        const resultSet = engine.evaluate(undefined, test.entrypoint) as Array<{ result?: unknown }>;
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
    report.results.push({ name: test.name, file: test.file, outcome, ...(reason === undefined ? {} : { reason }), durationUs });
    if (outcome === 'pass') report.passed++;
    else if (outcome === 'fail') report.failed++;
    else if (outcome === 'error') report.errored++;
    else report.skipped++;
  }
  return report;
}
