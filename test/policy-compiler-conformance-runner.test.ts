// The conformance runner against a small case directory of our own (OPA's cases are not part of the repository).
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

const run = promisify(execFile);
const runner = path.resolve('test-support/conformance.ts');

// These are the project's own small cases in the conformance format, not OPA's (those stay in ../shared).
// --filter keeps categories whose name contains the filter: the run below keeps "kept-*" only.
const categories = {
  'kept-basics': [
    { note: 'basics/pass', query: 'data.a.p = x', modules: ['package a\np := input.n + 1'], input: { n: 1 }, 'want_result': [{ x: 2 }] },
    { note: 'basics/undefined', query: 'data.a.p = x', modules: ['package a\np if false'], 'want_result': [] },
    { note: 'basics/wrong expectation', query: 'data.a.p = x', modules: ['package a\np := 1'], 'want_result': [{ x: 2 }] },
    { note: 'basics/set, unordered', query: 'data.a.s = x', modules: ['package a\ns contains x if some x in [3, 1, 2]'], 'want_result': [{ x: [2, 3, 1] }], sort_bindings: true },
    { note: 'basics/base data through a wrapper', query: 'data.base.v = x', modules: ['package a\np := 1'], data: { base: { v: 'b' } }, 'want_result': [{ x: 'b' }] },
  ],
  'kept-errors': [
    { note: 'errors/compile error expected', query: 'data.a.p = x', modules: ['package a\np if { x > 1 }'], want_error_code: 'rego_unsafe_var_error' },
    { note: 'errors/conflict expected', query: 'data.a.p = x', modules: ['package a\np := x if some x in [1, 2]'], want_error_code: 'eval_conflict_error' },
    { note: 'errors/strict error as empty result', query: 'data.a.p = x', modules: ['package a\np := to_number("nope")'], want_error_code: 'eval_builtin_error', strict_error: true },
    { note: 'errors/unexpected compile error', query: 'data.a.p = x', modules: ['package a\np := nope(1)'], 'want_result': [{ x: 1 }] },
    { note: 'errors/input term that is a set', query: 'data.a.p = x', modules: ['package a\np := count(input & {2, 3})'], input_term: '{1, 2}', 'want_result': [{ x: 1 }] },
    { note: 'errors/no expectation', query: 'data.a.p = x', modules: ['package a\np := 1'] },
  ],
  dropped: [
    { note: 'dropped/would fail', query: 'data.a.p = x', modules: ['package a\np := 1'], 'want_result': [{ x: 3 }] },
  ],
};

t.test('runs each case, isolates failures and prints per-category and total lines', async (t) => {
  const dir = t.testdir();
  for (const [category, cases] of Object.entries(categories)) {
    mkdirSync(path.join(dir, category));
    writeFileSync(path.join(dir, category, 'cases.yaml'), stringify({ cases }));
  }
  // Type checking is the typecheck step's job; here it would only slow the workers down.
  // A generous time limit: these cases are tiny, but the test machine may be busy.
  const env = { ...process.env, OPA_CONFORMANCE_DIR: dir, TS_NODE_TRANSPILE_ONLY: '1', CONFORMANCE_CASE_TIMEOUT_MS: '60000' };
  const args = ['--no-warnings', '--import', '@tapjs/typescript/import', runner];
  const all = await run(process.execPath, [...args, '--verbose', '--filter', 'kept'], { env, timeout: 120_000 });
  const lines = all.stdout.trim().split('\n');
  t.equal(lines.at(-1), '8 passed, 2 failed, 1 skipped');
  t.ok(lines.includes('kept-basics: 4 passed, 1 failed, 0 skipped'));
  t.ok(lines.includes('kept-errors: 4 passed, 1 failed, 1 skipped'));
  t.notMatch(all.stdout, /dropped/, 'the filter leaves other categories out');
  t.match(all.stdout, /FAIL basics\/wrong expectation: want \[\{"x":2\}\], got \[\{"x":1\}\]/);
  t.notMatch(all.stdout, /errors\/conflict expected/, 'a runtime abort is the expected error');
  t.match(all.stdout, /FAIL errors\/unexpected compile error: error: .*undefined function nope/);
  t.match(all.stdout, /SKIP errors\/no expectation: no expectation/);
  t.notMatch(all.stdout, /input term that is a set/, 'a Rego input term is evaluated with `with input as`');
});

t.test('skips with a message when the case directory is missing', async (t) => {
  const env = { ...process.env, OPA_CONFORMANCE_DIR: path.join(t.testdir(), 'absent'), TS_NODE_TRANSPILE_ONLY: '1' };
  const { stdout } = await run(process.execPath, ['--no-warnings', '--import', '@tapjs/typescript/import', runner], { env, timeout: 60_000 });
  t.match(stdout, /conformance cases not found/);
  t.equal(stdout.trim().split('\n').at(-1), '0 passed, 0 failed, 0 skipped');
});
