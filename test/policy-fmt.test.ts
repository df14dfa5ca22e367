// `policy fmt`: canonical formatting is a fixed point that keeps the syntax tree (and so every decision).
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compileToPlan } from '../gateway/policy/compiler/planner.js';
import { formatModule } from '../gateway/policy/rego/format.js';
import { parseModule } from '../gateway/policy/rego/parser.js';
import { RegoError } from '../gateway/policy/rego/ast.js';
import { readPolicySources, policyModules } from '../gateway/policy/bundle/sources.js';
import { runRegoTests } from '../gateway/policy/rego-test.js';
import { policyCli, policyFolder } from './fixtures/policy-cli.js';

const CONFORMANCE = path.resolve('../shared/opa-conformance');

/** The tree without positions and comments: what formatting must not change. */
function tree(source: string): string {
  return JSON.stringify(parseModule(source, 'm.rego'), (key, value: unknown) =>
    (key === 'loc' || key === 'endLine' || key === 'packageLoc' || key === 'comments' ? undefined : value));
}

t.test("the project's own policies: fixed point, same tree, same plan, same test results", async (t) => {
  const sources = readPolicySources('policies');
  const formatted: Record<string, string> = {};
  for (const [file, source] of Object.entries(sources.modules)) {
    const once = formatModule(source, file);
    t.equal(formatModule(once, file), once, `${file}: formatting the output changes nothing`);
    t.equal(tree(once), tree(source), `${file}: same syntax tree`);
    t.equal(once.split('\n').filter((l) => l.trimStart().startsWith('#')).length, source.split('\n').filter((l) => l.trimStart().startsWith('#')).length, `${file}: every comment line kept`);
    formatted[file] = once;
  }
  const entrypoints = ['portcullis/decision'];
  t.equal(JSON.stringify(compileToPlan({ modules: policyModules({ ...sources, modules: formatted }), entrypoints })),
    JSON.stringify(compileToPlan({ modules: policyModules(sources), entrypoints })), 'the formatted policy compiles to the same plan');
  const before = runRegoTests(sources);
  const after = runRegoTests({ modules: formatted, data: sources.data });
  t.same(after.results.map((r) => [r.name, r.outcome]), before.results.map((r) => [r.name, r.outcome]), 'the Rego tests give the same results');
  t.ok(before.passed > 10, 'the policy has tests to compare');
});

t.test("OPA's conformance modules: fixed point and same tree", { skip: existsSync(CONFORMANCE) ? false : `${CONFORMANCE} is not present on this machine` }, async (t) => {
  const files = [
    ...readdirSync(path.join(CONFORMANCE, 'cases')).flatMap((dir) => readdirSync(path.join(CONFORMANCE, 'cases', dir)).map((f) => path.join(CONFORMANCE, 'cases', dir, f))),
    ...readdirSync(path.join(CONFORMANCE, 'wasm-cases')).map((f) => path.join(CONFORMANCE, 'wasm-cases', f)),
  ].filter((f) => f.endsWith('.yaml'));
  let modules = 0;
  const failures: string[] = [];
  for (const file of files) {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { cases?: Array<{ note?: string; modules?: string[] }> } | null;
    for (const c of doc?.cases ?? []) {
      for (const source of c.modules ?? []) {
        let original: string;
        try {
          original = tree(source);
        } catch (err) {
          if (err instanceof RegoError) continue; // cases about parse errors
          throw err;
        }
        modules++;
        const once = formatModule(source, 'm.rego');
        if (formatModule(once, 'm.rego') !== once) failures.push(`${c.note ?? file}: not a fixed point`);
        else if (tree(once) !== original) failures.push(`${c.note ?? file}: the tree changed`);
      }
    }
  }
  t.ok(modules > 2000, `formatted the conformance modules (${modules})`);
  t.same(failures, [], 'every module is a fixed point with the same tree');
});

t.test('layout: tabs, infix operators, one expression a line, comments where they were', async (t) => {
  const source = [
    '# header',
    'package  example',
    'import rego.v1',
    'import data.lib   # the library',
    '# METADATA',
    '# title: allow',
    'allow if { input.user == "admin"; lib.ok(input)',
    '  # explains the next line',
    '  count( input.roles ) > (1 + 2) * 3',
    '}',
    'short if { input.x }',
    'items := [',
    '  1, # one',
    '  2 ]',
    'p := 1 if input.a else := 2',
    'neg := - input.n',
    'pattern := `^\\d+$`',
    '',
  ].join('\n');
  t.equal(formatModule(source, 'example.rego'), [
    '# header',
    'package example',
    '',
    'import rego.v1',
    'import data.lib # the library',
    '',
    '# METADATA',
    '# title: allow',
    'allow if {',
    '\tinput.user == "admin"',
    '\tlib.ok(input)',
    '\t# explains the next line',
    '\tcount(input.roles) > (1 + 2) * 3',
    '}',
    '',
    'short if input.x',
    '',
    'items := [',
    '\t1, # one',
    '\t2,',
    ']',
    '',
    'p := 1 if input.a else := 2',
    'neg := -input.n',
    'pattern := `^\\d+$`',
    '',
  ].join('\n'));
});

t.test('policy fmt --check lists unformatted files and exits 1; fmt rewrites them; a parse error names file:line:col', async (t) => {
  const dir = policyFolder(t, {
    'ok.rego': 'package ok\n\nimport rego.v1\n\nallow if input.x\n',
    'messy.rego': 'package messy\nimport rego.v1\nallow   if {input.x;input.y}\n',
  });
  const messy = path.join(dir, 'messy.rego');
  const checked = await policyCli(['fmt', '--check', dir]);
  t.equal(checked.code, 1);
  t.equal(checked.out, `${messy}\n`, 'only the unformatted file is listed');
  t.match(checked.err, /1 file not formatted/);
  t.equal(readFileSync(messy, 'utf8'), 'package messy\nimport rego.v1\nallow   if {input.x;input.y}\n', '--check writes nothing');

  const written = await policyCli(['fmt', dir]);
  t.equal(written.code, 0);
  t.equal(written.out, `${messy}\n`);
  t.equal(readFileSync(messy, 'utf8'), 'package messy\n\nimport rego.v1\n\nallow if {\n\tinput.x\n\tinput.y\n}\n');
  t.equal((await policyCli(['fmt', '--check', dir])).code, 0, 'formatted: --check passes');

  const broken = policyFolder(t, { 'bad.rego': 'package bad\n\nallow if {\n\tinput.x ==\n}\n' });
  const failed = await policyCli(['fmt', '--check', broken]);
  t.equal(failed.code, 1);
  t.match(failed.err, new RegExp(`${path.join(broken, 'bad.rego').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5:1: rego_parse_error`));
});
