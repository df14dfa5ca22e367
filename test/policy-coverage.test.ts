// `policy test --coverage` (lines per file and per rule, text and JSON, --threshold) and print() output per test.
import t from 'tap';
import { runRegoTests } from '../gateway/policy/rego-test.js';
import { policyCli, policyFolder } from './fixtures/policy-cli.js';

// The test asks for bob: both `allow` bodies are tried (line 6 fails, so head 5 is not reached), `other`
// (9-10) is never evaluated, and `never` (13) is evaluated through `not`.
const POLICY = [
  'package p',                    // 1
  '',                             // 2
  'allow if input.user == "bob"', // 3
  '',                             // 4
  'allow if {',                   // 5
  '\tinput.role == "admin"',      // 6
  '}',                            // 7
  '',                             // 8
  'other := x if {',              // 9
  '\tx := input.n + 1',           // 10
  '}',                            // 11
  '',                             // 12
  'never if false',               // 13
  '',
].join('\n');

const TESTS = [
  'package p_test',
  '',
  'test_bob if {',
  '\tprint("deciding for", "bob", {"n": 1})',
  '\tdata.p.allow with input as {"user": "bob"}',
  '}',
  '',
  'test_never if {',
  '\tnot data.p.never',
  '}',
  '',
].join('\n');

t.test('coverage counts the lines evaluated, per file and per rule', async (t) => {
  const report = runRegoTests({ modules: { 'p.rego': POLICY, 'p_test.rego': TESTS }, data: {} }, { coverage: true });
  t.equal(report.passed, 2);
  const coverage = report.coverage!;
  t.same(Object.keys(coverage.files), ['p.rego'], 'test modules are left out');
  const file = coverage.files['p.rego']!;
  t.same(file.covered, [{ start: { row: 3 }, end: { row: 3 } }, { start: { row: 6 }, end: { row: 6 } }, { start: { row: 13 }, end: { row: 13 } }]);
  t.same(file.not_covered, [{ start: { row: 5 }, end: { row: 5 } }, { start: { row: 9 }, end: { row: 10 } }]);
  t.equal(file.covered_lines, 3);
  t.equal(file.not_covered_lines, 3);
  t.equal(file.coverage, 50);
  t.same(file.rules.map((r) => [r.name, r.line, r.covered_lines, r.not_covered_lines, r.coverage]), [
    ['p.allow', 3, 2, 1, 66.67],
    ['p.other', 9, 0, 2, 0],
    ['p.never', 13, 1, 0, 100],
  ]);
  t.same(coverage.files['p.rego']!.rules[0]!.not_covered, [{ start: { row: 5 }, end: { row: 5 } }]);
  t.equal(coverage.coverage, 50);
});

t.test('covering the rest raises the figures to 100%', async (t) => {
  const more = `${TESTS}test_admin if data.p.allow with input as {"role": "admin"}\n\ntest_other if data.p.other == 2 with input as {"n": 1}\n`;
  const report = runRegoTests({ modules: { 'p.rego': POLICY, 'p_test.rego': more }, data: {} }, { coverage: true });
  t.equal(report.passed, 4);
  t.equal(report.coverage!.coverage, 100);
  t.same(report.coverage!.files['p.rego']!.not_covered, []);
});

t.test('policy test --coverage: text report, JSON report, --threshold', async (t) => {
  const dir = policyFolder(t, { 'p.rego': POLICY, 'p_test.rego': TESTS });
  const text = await policyCli(['test', dir, '--coverage']);
  t.equal(text.code, 0, 'tests pass and no threshold was asked');
  t.match(text.out, 'p.rego: 50.00% (3/6 lines)\n');
  t.match(text.out, '  p.allow (line 3): 66.67%  not covered: 5\n');
  t.match(text.out, '  p.other (line 9): 0.00%  not covered: 9-10\n');
  t.match(text.out, 'total: 50.00% (3/6 lines)\n');

  const json = await policyCli(['test', dir, '--coverage', '--format', 'json']);
  t.equal(json.code, 0);
  const parsed = JSON.parse(json.out) as { passed: number; coverage: { coverage: number; files: Record<string, { not_covered_lines: number }> } };
  t.equal(parsed.passed, 2);
  t.equal(parsed.coverage.coverage, 50);
  t.equal(parsed.coverage.files['p.rego']?.not_covered_lines, 3);

  const below = await policyCli(['test', dir, '--threshold', '60']);
  t.equal(below.code, 1, 'below the threshold fails although every test passed');
  t.match(below.err, 'coverage 50.00% is below the threshold of 60%');
  t.equal((await policyCli(['test', dir, '--threshold', '50'])).code, 0, 'at the threshold passes');
  const bad = await policyCli(['test', dir, '--threshold', 'most']);
  t.equal(bad.code, 2, 'a threshold that is not a percentage is a usage error');
});

t.test('print() output is kept per test and shown with -v, and under a failing test', async (t) => {
  const report = runRegoTests({ modules: { 'p.rego': POLICY, 'p_test.rego': TESTS }, data: {} });
  t.same(report.results.map((r) => [r.name, r.output]), [
    ['data.p_test.test_bob', ['deciding for bob {"n":1}']],
    ['data.p_test.test_never', []],
  ]);
  const failing = `${TESTS}test_fails if {\n\tprint("about to fail")\n\tfalse\n}\n`;
  const dir = policyFolder(t, { 'p.rego': POLICY, 'p_test.rego': failing });
  const quiet = await policyCli(['test', dir]);
  t.equal(quiet.code, 1);
  t.match(quiet.out, 'data.p_test.test_fails: FAIL');
  t.match(quiet.out, '\n  about to fail\n', 'a failing test shows what it printed');
  t.notMatch(quiet.out, 'deciding for', 'a passing test is not listed without -v');
  const verbose = await policyCli(['test', dir, '-v']);
  t.match(verbose.out, 'data.p_test.test_bob: PASS');
  t.match(verbose.out, '\n  deciding for bob {"n":1}\n');
});
