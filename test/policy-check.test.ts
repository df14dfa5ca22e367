// `policy check`: parse and compile errors with file:line:col; --strict adds OPA's strict-mode checks.
import t from 'tap';
import path from 'node:path';
import { policyCli, policyFolder } from './fixtures/policy-cli.js';

t.test('a clean folder passes, with and without --strict', async (t) => {
  const dir = policyFolder(t, { 'p.rego': 'package p\n\nimport rego.v1\n\nallow if input.user == "admin"\n' });
  for (const args of [['check', dir], ['check', '--strict', dir]]) {
    const r = await policyCli(args);
    t.equal(r.code, 0, args.join(' '));
    t.equal(r.err, '');
    t.equal(r.out, '1 file checked, no problems\n');
  }
});

t.test('a parse error in each of two files: both reported with file:line:col', async (t) => {
  const dir = policyFolder(t, {
    'a.rego': 'package a\n\nallow if {\n\tinput.x ==\n}\n',
    'b.rego': 'package b\n\nallow if input.y !\n',
  });
  const r = await policyCli(['check', dir]);
  t.equal(r.code, 1);
  const lines = r.err.trim().split('\n');
  t.equal(lines.length, 2);
  t.match(lines[0], `${path.join(dir, 'a.rego')}:5:1: rego_parse_error: `);
  t.match(lines[1], `${path.join(dir, 'b.rego')}:3:18: rego_parse_error: illegal '!'`);
  t.equal(r.out, '2 problems\n');
});

t.test('a compile error (unsafe variable) names its place', async (t) => {
  const dir = policyFolder(t, { 'p.rego': 'package p\n\nallow if {\n\tinput.x\n\ty > 1\n}\n' });
  const r = await policyCli(['check', dir]);
  t.equal(r.code, 1);
  t.match(r.err, `${path.join(dir, 'p.rego')}:5:2: rego_unsafe_var_error: `);
});

t.test('--strict: duplicate and unused imports, unused assignments and arguments, rules named input, deprecated built-ins', async (t) => {
  const source = [
    'package p',
    '',
    'import data.lib.a',
    'import data.lib.b',
    '',
    'allow if {',
    '\tx := 1',
    '\tinput.y',
    '\ta.ok',
    '}',
    '',
    'f(u, v) := u',
    '',
    'input if true',
    '',
    'h := any([true])',
    '',
  ].join('\n');
  const dir = policyFolder(t, { 'p.rego': source, 'lib.rego': 'package lib.a\n\nok := true\n' });
  const file = path.join(dir, 'p.rego');
  const lenient = await policyCli(['check', dir]);
  t.equal(lenient.code, 0, 'all of it compiles without --strict');
  const strict = await policyCli(['check', '--strict', dir]);
  t.equal(strict.code, 1);
  t.same(strict.err.trim().split('\n').sort(), [
    `${file}:12:6: rego_compile_error: unused argument v`,
    `${file}:14:1: rego_compile_error: rules must not be named input (a reserved name)`,
    `${file}:16:6: rego_compile_error: deprecated built-in function any`,
    `${file}:4:1: rego_compile_error: import data.lib.b unused`,
    `${file}:7:2: rego_compile_error: assigned var x unused`,
  ].sort());
  t.equal(strict.out, '5 problems\n');
});

t.test('--strict: an import repeated is a duplicate', async (t) => {
  const dir = policyFolder(t, { 'p.rego': 'package p\n\nimport data.lib.a\nimport data.lib.a\n\nallow if a.ok\n', 'lib.rego': 'package lib.a\n\nok := true\n' });
  const r = await policyCli(['check', '--strict', dir]);
  t.equal(r.code, 1);
  t.match(r.err, `${path.join(dir, 'p.rego')}:4:1: rego_compile_error: import data.lib.a is a duplicate`);
});

t.test('a malformed METADATA block is reported where it starts', async (t) => {
  const dir = policyFolder(t, { 'p.rego': 'package p\n\n# METADATA\n# scope: everywhere\nallow := true\n' });
  const r = await policyCli(['check', dir]);
  t.equal(r.code, 1);
  t.match(r.err, `${path.join(dir, 'p.rego')}:3:1: rego_parse_error: invalid METADATA block: scope must be one of`);
});

t.test("the project's own policies are in canonical form and clean under --strict", async (t) => {
  const fmt = await policyCli(['fmt', '--check', 'policies']);
  t.equal(fmt.out, '', 'files that `policy fmt policies` would change');
  t.equal(fmt.code, 0);
  const check = await policyCli(['check', '--strict', 'policies']);
  t.equal(check.err, '', 'strict-mode problems');
  t.equal(check.code, 0);
});
