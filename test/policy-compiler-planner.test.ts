import t from 'tap';
import type { Test } from 'tap';
import { compileToPlan } from '../gateway/policy/compiler/planner.js';
import { RegoError } from '../gateway/policy/rego/ast.js';
import type { Group, Lit, Plan } from '../gateway/policy/compiler/ir.js';
import { BUILTIN_ARITY } from '../gateway/policy/builtins/catalog.js';
import { NATIVE_BUILTINS } from '../gateway/policy/builtins/natives.js';

const plan = (source: string, entrypoints: string[] = []): Plan => compileToPlan({ modules: { 'p.rego': source }, entrypoints });

const group = (p: Plan, path: string): Group => {
  const g = p.groups.find((x) => x.path.join('.') === path);
  if (!g) throw new Error(`no group ${path}`);
  return g;
};

const body = (p: Plan, path: string, def = 0): Lit[] => group(p, path).defs[def]!.body;

/** Asserts that compiling `source` fails with `code`, a detail matching `detail`, at `line`. */
function rejects(t: Test, source: string, code: RegoError['code'], detail: RegExp, line: number): void {
  try {
    plan(source);
    t.fail(`expected ${code}`);
  } catch (err) {
    t.ok(err instanceof RegoError, 'throws RegoError');
    const e = err as RegoError;
    t.equal(e.code, code);
    t.match(e.detail, detail);
    t.equal(e.loc?.line, line, 'error location');
    t.equal(e.loc?.file, 'p.rego');
  }
}

t.test('groups: complete, partial set, partial object, ref heads, functions and the tree', async (t) => {
  const p = plan(`package a.b
default allow := false
allow if input.x == 1
s contains v if some v in input.xs
o[k] := 1 if some k in input.ks
r.q[x].s := x if some x in input.xs
f(x) := x + 1
`, ['a/b/allow']);
  t.match(group(p, 'a.b.allow'), { kind: 'rule', keys: 0, leaf: 'value', default: ['c', false] });
  t.match(group(p, 'a.b.s'), { kind: 'rule', keys: 0, leaf: 'set' });
  t.match(group(p, 'a.b.o'), { kind: 'rule', keys: 1, leaf: 'value' });
  const ref = group(p, 'a.b.r.q');
  t.match(ref, { kind: 'rule', keys: 2, leaf: 'value' });
  t.match(ref.defs[0]!.keys, [['v', Number], ['c', 's']]);
  t.match(group(p, 'a.b.f'), { kind: 'function', keys: 0 });
  t.same(group(p, 'a.b.f').defs[0]!.params, [['v', 0]]);
  const gi = p.groups.indexOf(group(p, 'a.b.allow'));
  t.equal(p.tree.c?.['a']?.c?.['b']?.c?.['allow']?.g, gi);
  t.same(p.entrypoints, [{ name: 'a/b/allow', path: ['a', 'b', 'allow'] }]);
});

t.test('rules in several modules of one package form one group', async (t) => {
  const p = compileToPlan({
    modules: { 'one.rego': 'package x\ns contains 1', 'two.rego': 'package x\ns contains 2\nt := s' },
    entrypoints: ['x/t'],
  });
  t.equal(group(p, 'x.s').defs.length, 2);
  // `s` in package x is the rule data.x.s, read through the fast path.
  t.match(group(p, 'x.t').defs[0]!.body, [['ref', ['rule', p.groups.indexOf(group(p, 'x.s'))], [], Number]]);
});

t.test('compile errors carry a code, a message and a location', async (t) => {
  t.test('conflicting rule kinds', async (t) => rejects(t, 'package a\nf(x) := x\nf := 1\n', 'rego_type_error', /conflicting rules data\.a\.f/, 3));
  t.test('unsafe variable, named', async (t) => rejects(t, 'package a\np if {\n  x > 1\n}\n', 'rego_unsafe_var_error', /var x is unsafe/, 3));
  t.test('unsafe head variable', async (t) => rejects(t, 'package a\np := y if input.x\n', 'rego_unsafe_var_error', /var y is unsafe/, 2));
  t.test('unsafe var in negation', async (t) => rejects(t, 'package a\np if {\n  not input.xs[x]\n}\n', 'rego_unsafe_var_error', /var x is unsafe/, 3));
  t.test('recursion', async (t) => rejects(t, 'package a\np if q\nq if p\n', 'rego_recursion_error', /recursive: data\.a\.\w -> data\.a\.\w -> data\.a\.\w/, 2));
  t.test('function recursion', async (t) => rejects(t, 'package a\nf(x) := y if y := f(x)\n', 'rego_recursion_error', /data\.a\.f/, 2));
  t.test('unknown function', async (t) => rejects(t, 'package a\np := nope(1)\n', 'rego_type_error', /undefined function nope/, 2));
  t.test('wrong arity', async (t) => rejects(t, 'package a\np := count(1, 2, 3)\n', 'rego_type_error', /count: arity mismatch/, 2));
  t.test('user function arity', async (t) => rejects(t, 'package a\nf(x) := x\np := f(1, 2, 3)\n', 'rego_type_error', /data\.a\.f: arity mismatch/, 3));
  t.test(':= redeclaration', async (t) => rejects(t, 'package a\np if {\n  x := 1\n  x := 2\n}\n', 'rego_compile_error', /var x assigned above/, 4));
  t.test(':= after use', async (t) => rejects(t, 'package a\np if {\n  x = 1\n  x := 2\n}\n', 'rego_compile_error', /var x referenced above/, 4));
  t.test('duplicate default', async (t) => rejects(t, 'package a\ndefault p := 1\ndefault p := 2\n', 'rego_type_error', /multiple default rules data\.a\.p/, 3));
  t.test('assignment to input', async (t) => rejects(t, 'package a\np if {\n  input := 1\n}\n', 'rego_compile_error', /cannot assign to input/, 3));
  t.test('assignment to a ref', async (t) => rejects(t, 'package a\np if {\n  input.x := 1\n}\n', 'rego_compile_error', /cannot assign to ref/, 3));
  t.test('rule nested under a complete rule', async (t) => rejects(t, 'package a\np := 1\np.q := 2\n', 'rego_type_error', /conflicts with data\.a\.p/, 3));
  t.test('invalid with target', async (t) => rejects(t, 'package a\np if {\n  true with nothing as 1\n}\n', 'rego_type_error', /with keyword target/, 3));
  t.test('non-constant function default', async (t) => rejects(t, 'package a\ndefault f(_) := [y | y := 1]\n', 'rego_type_error', /default rule value must be a constant/, 2));
});

t.test('unknown entrypoint is rejected', async (t) => {
  t.throws(() => plan('package a\np := 1', ['a/q']), /entrypoint a\/q does not refer to a rule/);
});

t.test('safety ordering binds before reading, keeping source order otherwise', async (t) => {
  const p = plan('package a\np := y if {\n  y = x + 1\n  x = input.n\n}\n');
  t.same(body(p, 'a.p'), [
    ['ref', ['input'], [['c', 'n']], 1],
    ['unify', ['v', 0], ['v', 1]],
    ['call', ['native', 'plus'], [['v', 0], ['c', 1]], 3],
    ['unify', ['v', 2], ['v', 3]],
  ]);
  t.same(group(p, 'a.p').defs[0]!.value, ['v', 2]);
});

t.test('a call reads a var that a ref in another argument binds', async (t) => {
  const p = plan('package a\np := i if {\n  some i\n  i == input.xs[i]\n}\n');
  t.match(body(p, 'a.p'), [['ref', ['input'], [['c', 'xs'], ['v', 0]], 1], ['call', ['native', 'equal'], [['v', 0], ['v', 1]], -1]]);
});

t.test('ref iteration, some-in, every, not and comprehensions', async (t) => {
  const p = plan(`package a
p if {
  some k, v in input.m
  every x in input.xs { x > k }
  not input.deny[v]
  n := count([y | some y in input.xs; y > v])
  n > 0
}
`);
  const lits = body(p, 'a.p');
  t.match(lits[1], ['scan', ['v', Number], ['v', Number], ['v', Number]]);
  t.match(lits.find((l) => l[0] === 'every'), ['every', Array, -1, Number, [['call', ['native', 'gt'], Array, -1]]]);
  t.match(lits.find((l) => l[0] === 'not'), ['not', [['ref', ['input'], [['c', 'deny'], Array], Number], ['truthy', Array]]]);
  const compr = lits.find((l) => l[0] === 'compr');
  t.match(compr, ['compr', 'array', ['v', Number], Array, Number]);
  // The comprehension reads the outer v through the same slot.
  const vSlot = (lits[1] as ['scan', unknown, unknown, ['v', number]])[3][1];
  t.match(JSON.stringify(compr), new RegExp(`\\["v",${vSlot}\\]`));
});

t.test('a comprehension before a := of the same name has its own variable', async (t) => {
  const p = plan('package a\nxs := {1, 2}\np := x if {\n  y := {x | xs[x]}\n  x := count(y)\n}\n');
  const lits = body(p, 'a.p');
  t.equal(lits[0]![0], 'compr');
  t.match(group(p, 'a.p').defs[0]!.value, ['v', Number]);
});

t.test('calls resolve to user functions, imports, natives and host built-ins', async (t) => {
  const hostName = Object.keys(BUILTIN_ARITY).find((n) => !NATIVE_BUILTINS.has(n) && BUILTIN_ARITY[n] === 1 && !n.includes('.'));
  if (!hostName) throw new Error('no host built-in of arity 1 in the catalog');
  const p = compileToPlan({
    modules: {
      'lib.rego': 'package lib\nf(x) := x * 2',
      'main.rego': `package main\nimport data.lib\nimport data.lib.f as g\nimport rego.v1\np := [lib.f(1), g(2), data.lib.f(3), ${hostName}("a"), count([])]`,
    },
    entrypoints: ['main/p'],
  });
  const f = p.groups.indexOf(group(p, 'lib.f'));
  const calls = body(p, 'main.p').filter((l) => l[0] === 'call').map((l) => l[1]);
  t.same(calls, [['func', f], ['func', f], ['func', f], ['host', 0], ['native', 'count']]);
  t.same(p.hostBuiltins, [hostName]);
});

t.test('output arguments and the walk relation', async (t) => {
  const p = plan('package a\np if {\n  count(input.xs, n)\n  n > 1\n  walk(input, [path, v])\n}\n');
  const lits = body(p, 'a.p');
  t.match(lits.slice(0, 3), [['ref', ['input'], [['c', 'xs']], Number], ['call', ['native', 'count'], [Array], Number], ['unify', ['v', Number], ['v', Number]]]);
  const walk = lits.findIndex((l) => l[0] === 'call' && l[1][0] === 'host');
  t.match(lits[walk + 1], ['ref', ['t', ['v', Number]], [['v', Number]], Number]);
  t.match(lits[walk + 2], ['unify', ['arr', [Array, Array]], ['v', Number]]);
});

t.test('with: input, data, function and value mocks wrap the expression', async (t) => {
  const p = plan(`package a
f(x) := x
g(x) := 2
q := input.v
p if {
  q with input.v as 1 with data.b.c as 2
  f(1) with f as g
  count([]) == 7 with count as 7
}
`);
  const lits = body(p, 'a.p');
  const g = p.groups.indexOf(group(p, 'a.g'));
  const f = p.groups.indexOf(group(p, 'a.f'));
  t.match(lits[0], ['with', [['input', ['v'], ['c', 1]], ['data', ['b', 'c'], ['c', 2]]], [['ref', ['rule', Number], [], Number], ['truthy', Array]]]);
  t.match(lits[1], ['with', [['fn', ['func', f], ['func', g]]], [['call', ['func', f], [['c', 1]], -1]]]);
  t.match(lits[2], ['with', [['fnval', ['native', 'count'], ['c', 7]]], Array]);
});

t.test('else chains, default functions and wildcards', async (t) => {
  const p = plan('package a\nf(x) := 1 if x > 10 else := 2 if x > 5 else := 3\np[x] := 1 if some x in [y | y := input.xs[_]]\n');
  const f = group(p, 'a.f').defs[0]!;
  t.equal(f.elses.length, 2);
  t.same(f.elses[1], { value: ['c', 3], body: [] });
  t.same(f.elses[0]!.value, ['c', 2]);
  t.equal(group(p, 'a.p').keys, 1);
});

t.test('dynamic data refs depend only on rules they can reach (no false recursion)', async (t) => {
  const p = compileToPlan({
    modules: {
      'test.rego': 'package test\np := data[first].allow.see if first := "primary"',
      'primary.rego': 'package primary\nallow.see if true',
    },
    entrypoints: ['test/p'],
  });
  t.same(body(p, 'test.p'), [['unify', ['v', 0], ['c', 'primary']], ['ref', ['data'], [['v', 0], ['c', 'allow'], ['c', 'see']], 1]]);
});

t.test('empty packages exist in the tree', async (t) => {
  const p = compileToPlan({ modules: { 'a.rego': 'package a.b\n', 'x.rego': 'package x\np := data.a.b' }, entrypoints: ['x/p'] });
  t.same(p.tree.c?.['a']?.c?.['b'], { c: {} });
});

t.test('a default that needs evaluation splits the rule over a hidden group', async (t) => {
  const p = plan('package a\ndefault p := [x | some x in data.b]\np := 1 if input.x\n', ['a/p']);
  const rule = group(p, 'a.p');
  const hidden = p.groups.length - 1;
  t.same(p.groups[hidden]!.path, ['a', 'p', '(default)']);
  t.equal(rule.default, undefined);
  t.same(rule.defs[0]!.body, [['ref', ['rule', hidden], [], 0]]);
  t.match(rule.defs[1]!.body[0], ['not', [['ref', ['rule', hidden], [], Number]]]);
  t.equal(p.tree.c?.['a']?.c?.['p']?.c, undefined, 'the hidden group is not in the tree');
});

t.test('some declares a local that shadows a rule; `in` is a membership call', async (t) => {
  const p = plan('package a\nx := 5\np if {\n  some x in input.xs\n  x in input.allowed\n}\nq if x == 5\n');
  const lits = body(p, 'a.p');
  t.match(lits, [
    ['ref', ['input'], [['c', 'xs']], 0],
    ['scan', ['v', 0], null, ['v', 1]],
    ['ref', ['input'], [['c', 'allowed']], 2],
    ['call', ['native', 'internal.member_2'], [['v', 1], ['v', 2]], -1],
  ]);
  t.match(body(p, 'a.q')[0], ['ref', ['rule', p.groups.indexOf(group(p, 'a.x'))], [], 0], 'elsewhere x is the rule');
});
