// The policy runtime evaluated through the unmodified @open-policy-agent/opa-wasm
// loader, on hand-written plans covering each literal kind and runtime error.
import t from 'tap';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { emitModule } from '../gateway/policy/wasm/link.js';
import type { Group, Plan, TreeNode, Lit, STerm, Def } from '../gateway/policy/compiler/ir.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

type Builtins = Record<string, (...args: unknown[]) => unknown>;

function treeOf(groups: Group[]): TreeNode {
  const root: TreeNode = {};
  groups.forEach((g, i) => {
    let node = root;
    for (const name of g.path) {
      node.c ??= {};
      node = node.c[name] ??= {};
    }
    node.g = i;
  });
  return root;
}

function planOf(groups: Group[], entrypoints: string[][], hostBuiltins: string[] = []): Plan {
  return { version: 1, groups, tree: treeOf(groups), entrypoints: entrypoints.map((p) => ({ name: p.join('/'), path: p })), hostBuiltins };
}

const c = (v: null | boolean | number | string): STerm => ['c', v];
const v = (slot: number): STerm => ['v', slot];

function def(nslots: number, value: STerm, body: Lit[], extra: Partial<Def> = {}): Def {
  return { nslots, keys: [], value, body, elses: [], ...extra };
}

function rule(path: string[], defs: Def[], extra: Partial<Group> = {}): Group {
  return { path, kind: 'rule', keys: 0, leaf: 'value', defs, ...extra };
}

async function load(groups: Group[], entrypoints: string[][], host: string[] = [], builtins: Builtins = {}) {
  return loadPolicy(emitModule(planOf(groups, entrypoints, host)), undefined, builtins);
}

/** Evaluates the first entrypoint; returns the result value, or undefined. */
async function run(groups: Group[], input?: unknown, data?: unknown): Promise<unknown> {
  const p = await load(groups, [groups[0]!.path]);
  if (data !== undefined) p.setData(data as object);
  const rs = p.evaluate(input);
  return rs.length === 0 ? undefined : rs[0].result;
}

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return String(e);
  }
  return '';
}

t.test('complete rule with default; ref into input; unify', async (t) => {
  const allow = rule(['authz', 'allow'], [def(1, c(true), [['ref', ['input'], [c('user')], 0], ['unify', v(0), c('alice')]])], { default: c(false) });
  const p = await load([allow], [['authz', 'allow']]);
  t.same(p.evaluate({ user: 'alice' }), [{ result: true }]);
  t.same(p.evaluate({ user: 'bob' }), [{ result: false }]);
  t.same(p.evaluate({}), [{ result: false }]);
  // The loader's types ask for an input; evaluating without one is what is tested here.
  t.same((p.evaluate as (input?: unknown) => unknown)(), [{ result: false }], 'no input');
});

t.test('undefined result is an empty result set', async (t) => {
  t.equal(await run([rule(['p'], [def(1, c(1), [['ref', ['input'], [c('x')], 0]])])], { y: 1 }), undefined);
});

t.test('partial set iterates unbound path slots, sorted output', async (t) => {
  // names contains n if input.users[_].name = n, with i iterated
  const names = rule(['names'], [def(3, v(1), [['ref', ['input'], [c('users'), v(0), c('name')], 1]])], { leaf: 'set' });
  t.same(await run([names], { users: [{ name: 'b' }, { name: 'a' }, { name: 'b' }, { x: 1 }] }), ['a', 'b']);
  t.same(await run([names], {}), [], 'an empty partial set is defined');
});

t.test('partial object and key conflicts', async (t) => {
  // byName[n] := r if some u in input.users; n = u.name; r = u.role
  const body: Lit[] = [['ref', ['input'], [c('users'), v(0)], 1], ['ref', ['t', v(1)], [c('name')], 2], ['ref', ['t', v(1)], [c('role')], 3]];
  const obj = rule(['byName'], [{ nslots: 4, keys: [v(2)], value: v(3), body, elses: [] }], { keys: 1 });
  t.same(await run([obj], { users: [{ name: 'z', role: 1 }, { name: 'a', role: 2 }, { name: 'a', role: 2 }] }), { a: 2, z: 1 });
  const p = await load([obj], [['byName']]);
  t.match(thrown(() => p.evaluate({ users: [{ name: 'a', role: 1 }, { name: 'a', role: 2 }] })), /^eval_conflict_error: object keys must be unique/);
  t.same(p.evaluate({ users: [] }), [{ result: {} }], 'still usable after an abort');
});

t.test('nested keys and set leaves', async (t) => {
  // p[k1][k2] contains x
  const g = rule(['p'], [{ nslots: 2, keys: [v(0), c('fixed')], value: v(1), body: [['scan', ['arr', [c('a'), c('b')]], v(0), v(1)]], elses: [] }], { keys: 2, leaf: 'set' });
  t.same(await run([g]), { '0': { fixed: ['a'] }, '1': { fixed: ['b'] } }, 'non-string keys are dumped as JSON text');
});

t.test('complete rule conflict aborts', async (t) => {
  const g = rule(['p'], [def(2, v(1), [['ref', ['input'], [v(0)], 1]])]);
  const p = await load([g], [['p']]);
  t.match(thrown(() => p.evaluate(['x', 'y'])), /^eval_conflict_error: complete rules must not produce multiple outputs/);
  t.same(p.evaluate(['x', 'x']), [{ result: 'x' }], 'equal values do not conflict');
});

t.test('else chains', async (t) => {
  const g = rule(['p'], [def(1, c('first'), [['ref', ['input'], [c('a')], 0]], {
    elses: [
      { value: c('second'), body: [['ref', ['input'], [c('b')], 0]] },
      { value: c('third'), body: [] },
    ],
  })]);
  t.equal(await run([g], { a: 1, b: 1 }), 'first');
  t.equal(await run([g], { b: 1 }), 'second');
  t.equal(await run([g], {}), 'third');
});

t.test('functions: params, multiple definitions, conflicts, defaults', async (t) => {
  // f(x) := y if y := x * 2 ; f(1) := 2 (agrees) ; g(x) := 1 if x > 0 ; g(x) := 2 if x > 5
  const f: Group = { path: ['f'], kind: 'function', keys: 0, leaf: 'value', defs: [
    { nslots: 2, params: [v(0)], keys: [], value: v(1), body: [['call', ['native', 'mul'], [v(0), c(2)], 1]], elses: [] },
    { nslots: 0, params: [c(1)], keys: [], value: c(2), body: [], elses: [] },
  ] };
  const gfn: Group = { path: ['g'], kind: 'function', keys: 0, leaf: 'value', default: c('none'), defs: [
    { nslots: 1, params: [v(0)], keys: [], value: c(1), body: [['call', ['native', 'gt'], [v(0), c(0)], -1]], elses: [] },
    { nslots: 1, params: [v(0)], keys: [], value: c(2), body: [['call', ['native', 'gt'], [v(0), c(5)], -1]], elses: [] },
  ] };
  const p = rule(['p'], [def(3, ['arr', [v(1), v(2)]], [
    ['ref', ['input'], [], 0],
    ['call', ['func', 1], [v(0)], 1],
    ['call', ['func', 2], [v(0)], 2],
  ])]);
  const pol = await load([p, f, gfn], [['p']]);
  t.same(pol.evaluate(1), [{ result: [2, 1] }]);
  t.same(pol.evaluate(-3), [{ result: [-6, 'none'] }]);
  t.match(thrown(() => pol.evaluate(7)), /^eval_conflict_error: functions must not produce multiple outputs for same inputs/);
  t.same((await load([p, f, gfn], [['f']])).evaluate(1), [], 'a function has no value as a document');
});

t.test('not, scan, every', async (t) => {
  // ok if { not input.deny; some k, v in input.m; k = "a"; every x in input.xs { x > 0 } } value [k, v]
  const g = rule(['p'], [def(5, ['arr', [v(1), v(2)]], [
    ['not', [['ref', ['input'], [c('deny')], 0]]],
    ['ref', ['input'], [c('m')], 3],
    ['scan', v(3), v(1), v(2)],
    ['unify', v(1), c('a')],
    ['ref', ['input'], [c('xs')], 0],
    ['every', v(0), -1, 4, [['call', ['native', 'gt'], [v(4), c(0)], -1]]],
  ])]);
  t.same(await run([g], { m: { a: 1, b: 2 }, xs: [1, 2] }), ['a', 1]);
  t.equal(await run([g], { m: { a: 1 }, xs: [1, 0] }), undefined, 'every fails');
  t.same(await run([g], { m: { a: 1 }, xs: [] }), ['a', 1], 'every over empty is true');
  t.equal(await run([g], { m: { a: 1 }, xs: 'nope' }), undefined, 'every over a non-collection is undefined');
  t.equal(await run([g], { deny: false, m: { a: 1 }, xs: [] }), undefined, 'not of a defined (false) ref fails');
});

t.test('comprehensions', async (t) => {
  const g = rule(['p'], [def(5, ['arr', [v(2), v(3), v(4)]], [
    ['ref', ['input'], [], 0],
    ['compr', 'array', v(1), [['scan', v(0), null, v(1)]], 2],
    ['compr', 'set', v(1), [['scan', v(0), null, v(1)]], 3],
    ['compr', 'object', ['arr', [v(1), c(true)]], [['scan', v(0), null, v(1)]], 4],
  ])]);
  t.same(await run([g], [3, 1, 3]), [[3, 1, 3], [1, 3], { '1': true, '3': true }]);
  const conflict = rule(['p'], [def(3, v(2), [['compr', 'object', ['arr', [c('k'), v(1)]], [['scan', ['arr', [c(1), c(2)]], null, v(1)]], 2]])]);
  const p = await load([conflict], [['p']]);
  t.match(thrown(() => p.evaluate({})), /^eval_conflict_error: object keys must be unique/);
});

t.test('data: base documents merged with rules, package materialisation, iteration', async (t) => {
  const a = rule(['pkg', 'a'], [def(0, c(1), [])]);
  const b = rule(['pkg', 'b'], [def(1, c(2), [['ref', ['input'], [], 0]])]);
  const all = rule(['all'], [def(1, v(0), [['ref', ['data'], [c('pkg')], 0]])]);
  const keys = rule(['keys'], [def(2, v(0), [['ref', ['data'], [c('pkg'), v(0)], 1]])], { leaf: 'set' });
  const p = await load([all, a, b, keys], [['all'], ['keys'], ['pkg', 'base', 'x']]);
  p.setData({ pkg: { base: { x: 'y' } }, other: 1 });
  t.same(p.evaluate(undefined, 'all'), [{ result: { a: 1, base: { x: 'y' } } }], 'undefined rules are left out');
  t.same(p.evaluate(1, 'all'), [{ result: { a: 1, b: 2, base: { x: 'y' } } }]);
  t.same(p.evaluate(1, 'keys'), [{ result: ['a', 'b', 'base'] }]);
  t.same(p.evaluate(1, 'pkg/base/x'), [{ result: 'y' }]);
  t.same(p.entrypoints, { all: 0, keys: 1, 'pkg/base/x': 2 });
});

t.test('rule head refs and recursion guard', async (t) => {
  const a = rule(['a'], [def(1, v(0), [['ref', ['rule', 1], [c('k')], 0]])]);
  const b = rule(['b'], [def(0, ['obj', [[c('k'), c('v')]]], [])]);
  t.equal(await run([a, b]), 'v');
  const loop = rule(['loop'], [def(1, v(0), [['ref', ['rule', 0], [], 0]])]);
  const p = await load([loop], [['loop']]);
  t.match(thrown(() => p.evaluate({})), /recursi/);
});

t.test('with: input, data, functions', async (t) => {
  const inner = rule(['inner'], [def(1, v(0), [['ref', ['input'], [c('x')], 0]])]);
  const fromData = rule(['fromData'], [def(1, v(0), [['ref', ['data'], [c('cfg'), c('level')], 0]])]);
  const f: Group = { path: ['f'], kind: 'function', keys: 0, leaf: 'value', defs: [{ nslots: 1, params: [v(0)], keys: [], value: c('real'), body: [], elses: [] }] };
  const h: Group = { path: ['h'], kind: 'function', keys: 0, leaf: 'value', defs: [{ nslots: 1, params: [v(0)], keys: [], value: c('mock'), body: [], elses: [] }] };
  const outer = rule(['outer'], [def(6, ['arr', [v(0), v(1), v(2), v(3), v(4), v(5)]], [
    ['with', [['input', ['x'], c('replaced')]], [['ref', ['rule', 1], [], 0]]],
    ['ref', ['rule', 1], [], 1],
    ['with', [['data', ['cfg', 'level'], c(9)]], [['ref', ['rule', 2], [], 2]]],
    ['with', [['fn', ['func', 3], ['func', 4]]], [['call', ['func', 3], [c(0)], 3]]],
    ['with', [['fnval', ['native', 'plus'], c(42)]], [['call', ['native', 'plus'], [c(1), c(1)], 4]]],
    ['call', ['native', 'plus'], [c(1), c(1)], 5],
  ])]);
  const p = await load([outer, inner, fromData, f, h], [['outer']]);
  p.setData({ cfg: { level: 1 } });
  t.same(p.evaluate({ x: 'orig' }), [{ result: ['replaced', 'orig', 9, 'mock', 42, 2] }]);
});

t.test('with data replaces rules at, below and above the path', async (t) => {
  const r = rule(['pkg', 'r'], [def(0, c(1), [])]);
  const obj = rule(['pkg', 'o'], [def(0, ['obj', [[c('a'), c(1)], [c('b'), c(2)]]], [])]);
  const q = rule(['q'], [def(3, ['arr', [v(0), v(1), v(2)]], [
    ['with', [['data', ['pkg', 'r'], c(5)]], [['ref', ['data'], [c('pkg')], 0]]],
    ['with', [['data', ['pkg'], ['obj', [[c('r'), c(7)]]]]], [['ref', ['rule', 1], [], 1]]],
    ['with', [['data', ['pkg', 'o', 'b'], c(3)]], [['ref', ['rule', 2], [], 2]]],
  ])]);
  t.same(await run([q, r, obj]), [{ o: { a: 1, b: 2 }, r: 5 }, 7, { a: 1, b: 3 }]);
});

t.test('natives', async (t) => {
  const calls: Array<[string, unknown[], unknown]> = [
    ['plus', [1, 2], 3], ['minus', [1, 2.5], -1.5], ['mul', [3, 4], 12], ['div', [1, 4], 0.25],
    ['div', [1, 0], undefined], ['rem', [7, 3], 1], ['rem', [7.5, 2], undefined], ['rem', [1, 0], undefined],
    ['plus', ['a', 1], undefined], ['equal', [1, 1.0], true], ['neq', [[1], [1]], false],
    ['lt', [null, false], true], ['lt', ['b', 'a'], false], ['gte', [{ a: 1 }, [1]], true], ['lte', [2, 2], true], ['gt', [3, 2], true],
    ['count', ['héllo😀'], 6], ['count', [[1, 2]], 2], ['count', [{ a: 1 }], 1], ['count', [3], undefined],
    ['internal.member_2', [2, [1, 2]], true], ['internal.member_2', [2, { a: 2 }], true], ['internal.member_2', [3, [1]], false],
    ['internal.member_3', [1, 'b', ['a', 'b']], true], ['internal.member_3', ['a', 1, { a: 1 }], true], ['internal.member_3', [0, 'b', ['a', 'b']], false],
  ];
  for (const [name, args, want] of calls) {
    const g = rule(['p'], [def(args.length + 1, v(args.length), [
      ...args.map((_, i): Lit => ['ref', ['input'], [c(i)], i]),
      ['call', ['native', name], args.map((_, i) => v(i)), args.length],
    ])]);
    t.same(await run([g], args), want, `${name}(${JSON.stringify(args).slice(1, -1)})`);
  }
  // Set operations on set literals.
  const sets = rule(['p'], [def(3, ['arr', [v(0), v(1), v(2)]], [
    ['call', ['native', 'minus'], [['set', [c(1), c(2), c(3)]], ['set', [c(2)]]], 0],
    ['call', ['native', 'and'], [['set', [c(1), c(2)]], ['set', [c(2), c(3)]]], 1],
    ['call', ['native', 'or'], [['set', [c(3), c(1)]], ['set', [c(2)]]], 2],
  ])]);
  t.same(await run([sets]), [[1, 3], [2], [1, 2, 3]]);
});

t.test('host built-ins through opa_builtin1 and the value text wire format', async (t) => {
  const seen: string[] = [];
  const builtins: Builtins = {
    [`${HOST_PREFIX}upper`]: (text: unknown) => {
      seen.push(String(text));
      const args = JSON.parse(String(text)) as string[];
      return JSON.stringify(args[0]!.toUpperCase());
    },
    [`${HOST_PREFIX}nothing`]: () => '',
    [`${HOST_PREFIX}mkset`]: () => '{1,set(),{"a":{2}}}',
  };
  const g = rule(['p'], [def(3, ['arr', [v(0), v(2)]], [
    ['call', ['host', 0], [c('abc')], 0],
    ['call', ['host', 2], [], 2],
  ])]);
  const p = await load([g, rule(['q'], [def(1, c(1), [['call', ['host', 1], [['set', [c(2), c(1)]]], 0]])])], [['p'], ['q']], ['upper', 'nothing', 'mkset'], builtins);
  t.same(p.evaluate({}, 'p'), [{ result: ['ABC', [1, { a: [2] }, []]] }], 'value text results keep sets, dumped as JSON arrays');
  t.same(p.evaluate({}, 'q'), [], 'empty string means undefined');
  t.same(seen, ['["abc"]']);
  const q2 = await load([rule(['q'], [def(1, v(0), [['call', ['host', 0], [['set', [c(2), c(1)]], ['obj', [[c(1), c('x')]]]], 0]])])], [['q']], ['echo'], {
    [`${HOST_PREFIX}echo`]: (text: unknown) => { seen.push(String(text)); return '"ok"'; },
  });
  t.same(q2.evaluate({}), [{ result: 'ok' }]);
  t.equal(seen.at(-1), '[{1,2},{1:"x"}]', 'sets and non-string keys keep their types on the wire');
});

t.test('a replacement function runs without replacements: it may call the original', async (t) => {
  // f(x) := "orig"; g(x) := f(x) + "!"-like: g returns [f(x)]; p := f(1) with f as g
  const f: Group = { path: ['f'], kind: 'function', keys: 0, leaf: 'value', defs: [{ nslots: 1, params: [v(0)], keys: [], value: c('orig'), body: [], elses: [] }] };
  const g: Group = { path: ['g'], kind: 'function', keys: 0, leaf: 'value', defs: [{ nslots: 2, params: [v(0)], keys: [], value: ['arr', [v(1)]], body: [['call', ['func', 1], [v(0)], 1]], elses: [] }] };
  const p = rule(['p'], [def(1, v(0), [['with', [['fn', ['func', 1], ['func', 2]]], [['call', ['func', 1], [c(1)], 0]]]])]);
  t.same(await run([p, f, g]), ['orig']);
});

t.test('documents at one path merge: rules with keys, rules below them, base data', async (t) => {
  // p[k] contains "x" for k in ["a", "b"]; p.b contains "foo" (a group below p)
  const p = rule(['p'], [{ nslots: 1, keys: [v(0)], value: c('x'), body: [['scan', ['arr', [c('a'), c('b')]], null, v(0)]], elses: [] }], { keys: 1, leaf: 'set' });
  const pb = rule(['p', 'b'], [def(0, c('foo'), [])], { leaf: 'set' });
  const q = rule(['q'], [def(1, v(0), [['ref', ['data'], [c('p'), c('b')], 0]])]);
  const pol = await load([p, pb, q], [['p'], ['q']]);
  t.same(pol.evaluate({}, 'p'), [{ result: { a: ['x'], b: ['foo', 'x'] } }]);
  t.same(pol.evaluate({}, 'q'), [{ result: ['foo', 'x'] }]);
  // p[k] := 1 and p.r := 2 for the same key conflict.
  const one = rule(['p'], [{ nslots: 0, keys: [c('r')], value: c(1), body: [], elses: [] }], { keys: 1 });
  const two = rule(['p', 'r'], [def(0, c(2), [])]);
  const clash = await load([one, two], [['p']]);
  t.match(thrown(() => clash.evaluate({})), /^eval_conflict_error: object keys must be unique/);
  // p[k].r := {"s": 1} (an object value) and p.q.r.t := 2 (injecting into it) conflict;
  // p[k].r := 1 and p.q.z := 2 merge into the containers p and p.q.
  const leafObject = rule(['p'], [{ nslots: 0, keys: [c('q'), c('r')], value: ['obj', [[c('s'), c(1)]]], body: [], elses: [] }], { keys: 2 });
  const inject = rule(['p', 'q', 'r', 't'], [def(0, c(2), [])]);
  const injected = await load([leafObject, inject], [['p']]);
  t.match(thrown(() => injected.evaluate({})), /^eval_conflict_error: object keys must be unique/);
  const leafOne = rule(['p'], [{ nslots: 0, keys: [c('q'), c('r')], value: c(1), body: [], elses: [] }], { keys: 2 });
  const beside = rule(['p', 'q', 'z'], [def(0, c(2), [])]);
  t.same((await load([leafOne, beside], [['p']])).evaluate({}), [{ result: { q: { r: 1, z: 2 } } }]);
});

t.test('packages without rules are empty objects; base data wins over a rule at the same path', async (t) => {
  const k = rule(['pkg', 'k'], [def(0, c('rule'), [])]);
  const plan = planOf([k], [['pkg'], ['empty']]);
  plan.tree.c!['empty'] = { c: {} };
  const p = await loadPolicy(emitModule(plan));
  t.same(p.evaluate({}, 'pkg'), [{ result: { k: 'rule' } }]);
  t.same(p.evaluate({}, 'empty'), [{ result: {} }]);
  p.setData({ pkg: { k: 'base', other: 1 }, '2': 'two' });
  t.same(p.evaluate({}, 'pkg'), [{ result: { k: 'base', other: 1 } }]);
  const top = await load([rule(['t'], [def(1, v(0), [['ref', ['data'], [c(2)], 0]])])], [['t']]);
  top.setData({ '2': 'two' });
  t.same(top.evaluate({}), [{ result: 'two' }], 'data[2] names the base document key "2"');
  const nested = await load([rule(['t'], [def(1, v(0), [['ref', ['data'], [c('nested'), c(2)], 0]])])], [['t']]);
  nested.setData({ nested: { '2': 'bar' } });
  t.same(nested.evaluate({}), [{ result: 'bar' }], 'also below the top level');
  const computed = await load([rule(['t'], [def(1, v(0), [['ref', ['t', ['obj', [[c('2'), c('x')]]]], [c(2)], 0]])])], [['t']]);
  t.same(computed.evaluate({}), [], 'but not in computed values');
});

t.test('string and type natives', async (t) => {
  const calls: Array<[string, unknown[], unknown]> = [
    ['startswith', ['abc', 'ab'], true], ['startswith', ['abc', 'b'], false], ['startswith', [1, 'b'], undefined],
    ['endswith', ['abc', 'bc'], true], ['contains', ['abc', 'b'], true], ['contains', ['abc', 'x'], false],
    ['lower', ['ÀBC'], 'àbc'], ['upper', ['straße'], 'STRASSE'], ['lower', [1], undefined],
    ['concat', ['-', ['a', 'b']], 'a-b'], ['concat', ['-', [1]], undefined], ['concat', [',', []], ''],
    ['type_name', [null], 'null'], ['type_name', [[1]], 'array'], ['type_name', [{}], 'object'],
    ['is_string', ['x'], true], ['is_string', [1], false], ['is_number', [1], true], ['is_null', [null], true],
    ['is_boolean', [false], true], ['is_array', [[]], true], ['is_object', [{}], true], ['is_set', [[]], false],
    ['split', ['a,b,,c', ','], ['a', 'b', '', 'c']], ['split', ['', ','], ['']], ['split', ['h😀i', ''], ['h', '😀', 'i']], ['split', [1, ','], undefined],
    ['trim', ['xxhixx', 'x'], 'hi'], ['trim_left', ['😀😀a😀', '😀'], 'a😀'], ['trim_right', ['a😀😀', '😀'], 'a'], ['trim_right', ['abc', ''], 'abc'],
    ['trim_prefix', ['prefix-x', 'prefix-'], 'x'], ['trim_prefix', ['x', 'y'], 'x'], ['trim_suffix', ['x.rego', '.rego'], 'x'], ['trim_suffix', ['x', ''], 'x'],
    ['floor', [1.5], 1], ['floor', [-1.5], -2], ['ceil', [1.2], 2], ['abs', [-3], 3], ['abs', ['x'], undefined],
    ['sum', [[1, 2.5]], 3.5], ['sum', [[]], 0], ['sum', [[1, 'x']], undefined], ['sum', [{ a: 1 }], undefined],
  ];
  for (const [name, args, want] of calls) {
    const g = rule(['p'], [def(args.length + 1, v(args.length), [
      ...args.map((_, i): Lit => ['ref', ['input'], [c(i)], i]),
      ['call', ['native', name], args.map((_, i) => v(i)), args.length],
    ])]);
    t.same(await run([g], args), want, `${name}(${JSON.stringify(args).slice(1, -1)})`);
  }
  const set = rule(['p'], [def(2, ['arr', [v(0), v(1)]], [
    ['call', ['native', 'concat'], [c('+'), ['set', [c('b'), c('a')]]], 0],
    ['call', ['native', 'type_name'], [['set', []]], 1],
  ])]);
  t.same(await run([set]), ['a+b', 'set']);
});

t.test('json.marshal in the runtime writes what OPA writes', async (t) => {
  const marshal = rule(['p'], [def(2, v(1), [['ref', ['input'], [], 0], ['call', ['native', 'json.marshal'], [v(0)], 1]])]);
  t.equal(await run([marshal], { b: 1, a: '<&>' }), '{"a":"\\u003c\\u0026\\u003e","b":1}', 'sorted keys, Go HTML-safe escapes');
  t.equal(await run([marshal], '\u2028\u2029\b\f\n\u0001'), '"\\u2028\\u2029\\b\\f\\n\\u0001"', 'line separators escaped, short control escapes');
  t.equal(await run([marshal], 'a\ud800b'), '"a\\ud800b"', 'a lone surrogate is escaped, not written as invalid UTF-8');
  t.equal(await run([marshal], [1e20, 1.5, -0, 'é😀']), '[100000000000000000000,1.5,0,"é😀"]', 'integral doubles as digits, UTF-8 text as is');
  const marshalSet = rule(['p'], [def(1, v(0), [['call', ['native', 'json.marshal'], [['set', [c('b'), c('a')]]], 0]])]);
  t.equal(await run([marshalSet]), '["a","b"]', 'a set is a sorted array');
});

t.test('print writes through opa_println', async (t) => {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => { lines.push(args.join(' ')); };
  t.teardown(() => { console.log = original; });
  const g = rule(['p'], [def(0, c(true), [['call', ['native', 'print'], [c('hello'), ['arr', [c(1), c('x')]], ['set', [c(2)]]], -1]])]);
  const result = await run([g]);
  console.log = original;
  t.equal(result, true);
  t.same(lines, ['hello [1,"x"] {2}'], 'the loader decodes bytes as Latin-1, so this stays ASCII');
});

t.test('repeated aborts do not exhaust the runtime', async (t) => {
  const g = rule(['p'], [def(2, v(1), [['ref', ['input'], [v(0)], 1]])]);
  const p = await load([g], [['p']]);
  let errors = 0;
  for (let i = 0; i < 5000; i++) {
    if (thrown(() => p.evaluate([1, 2])).startsWith('eval_conflict_error')) errors++;
  }
  t.equal(errors, 5000);
  t.same(p.evaluate([1]), [{ result: 1 }]);
});

t.test('nesting deeper than the limit aborts cleanly', async (t) => {
  // f0(x) calls f1(x) ... f299(x) := x: 300 nested calls.
  const depth = 300;
  const fns: Group[] = Array.from({ length: depth }, (_, i) => ({
    path: [`f${i}`], kind: 'function', keys: 0, leaf: 'value',
    defs: [i === depth - 1
      ? { nslots: 1, params: [v(0)], keys: [], value: v(0), body: [], elses: [] }
      : { nslots: 2, params: [v(0)], keys: [], value: v(1), body: [['call', ['func', i + 2], [v(0)], 1]], elses: [] }],
  }));
  const p = rule(['p'], [def(1, v(0), [['call', ['func', 1], [c(7)], 0]])]);
  const pol = await load([p, ...fns], [['p']]);
  t.match(thrown(() => pol.evaluate({})), /^internal_error: evaluation too deep/);
  const shallow = await load([p, ...fns.slice(0, 100).map((f, i) => (i === 99 ? { ...f, defs: [{ nslots: 1, params: [v(0)], keys: [], value: v(0), body: [], elses: [] }] } : f))], [['p']]);
  t.same(shallow.evaluate({}), [{ result: 7 }], '100 nested calls are fine');
});

t.test('large partial sets, objects and comprehensions from unsorted input', async (t) => {
  // s contains x if some x in input; o[x] := true if some x in input; c := {x: x | some x in input}
  const s = rule(['s'], [def(2, v(1), [['ref', ['input'], [], 0], ['scan', v(0), null, v(1)]])], { leaf: 'set' });
  const scan: Lit[] = [['ref', ['input'], [], 0], ['scan', v(0), null, v(1)]];
  const o = rule(['o'], [{ nslots: 2, keys: [v(1)], value: c(true), body: scan, elses: [] }], { keys: 1 });
  const comp = rule(['c'], [def(3, v(2), [['ref', ['input'], [], 0], ['compr', 'object', ['arr', [v(1), v(1)]], [['scan', v(0), null, v(1)]], 2]])]);
  const n = 20000;
  const input = Array.from({ length: n * 2 }, (_, i) => (i * 7919) % n);
  const pol = await load([s, o, comp], [['s'], ['o'], ['c']]);
  const set = pol.evaluate(input, 's')[0].result as number[];
  t.equal(set.length, n);
  t.ok(set.every((x, i) => x === i), 'sorted and unique');
  const obj = pol.evaluate(input, 'o')[0].result as Record<string, boolean>;
  t.equal(Object.keys(obj).length, n);
  const cobj = pol.evaluate(input, 'c')[0].result as Record<string, number>;
  t.equal(cobj['1234'], 1234);
});
