// End to end: Rego source → compile() → the unmodified @open-policy-agent/opa-wasm loader.
import t from 'tap';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { compile } from '../gateway/policy/compile.js';
import { requiredMemoryPages } from '../gateway/policy/wasm/link.js';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { RegoError } from '../gateway/policy/rego/ast.js';

// Node provides WebAssembly, but the project's lib settings (no DOM) do not declare it.
declare const WebAssembly: { validate(bytes: Uint8Array): boolean };

interface Policy {
  evaluate(input: unknown, entrypoint?: string): Array<{ result: unknown }>;
  setData(data: object): void;
}

async function load(modules: Record<string, string>, entrypoints: string[]): Promise<Policy> {
  const wasm = compile({ modules, entrypoints });
  return loadPolicy(wasm, { initial: requiredMemoryPages(wasm) }, hostBuiltinImports());
}

/** What a call threw, as text (the loader throws strings for runtime aborts). */
function thrown(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
}

/** The single result of evaluating `entrypoint`, or undefined when the result set is empty. */
function value(policy: Policy, input: unknown, entrypoint: string): unknown {
  const rs = policy.evaluate(input, entrypoint);
  return rs.length === 0 ? undefined : rs[0]!.result;
}

const AUTHZ = `package authz
import rego.v1

default allow := false

allow if {
  some role in input.agent.roles
  role in data.grants[input.tool]
  not denied
}

denied if input.args.path in {"/etc/shadow", "/root"}

reasons contains msg if {
  denied
  msg := sprintf("path %s is denied", [input.args.path])
}

reasons contains "no role" if count(input.agent.roles) == 0

tier(n) := "high" if n > 100
else := "mid" if n > 10
else := "low"

tiers := {k: tier(v) | some k, v in input.sizes}

all_small if every s in input.sizes { s < 1000 }

paths := [p | walk(input.sizes, [p, v]); is_number(v)]
`;

t.test('an authorization policy evaluates through the real loader', async (t) => {
  const policy = await load({ 'authz.rego': AUTHZ }, ['authz/allow', 'authz/reasons', 'authz/tiers', 'authz/all_small', 'authz/paths']);
  policy.setData({ grants: { read_file: ['reader', 'admin'], write_file: ['admin'] } });
  const reader = { agent: { roles: ['reader'] }, tool: 'read_file', args: { path: '/tmp/x' }, sizes: { a: 5, b: 50, c: 500 } };
  t.equal(value(policy, reader, 'authz/allow'), true);
  t.equal(value(policy, { ...reader, tool: 'write_file' }, 'authz/allow'), false, 'default when no grant');
  t.equal(value(policy, { ...reader, args: { path: '/root' } }, 'authz/allow'), false, 'negation');
  t.same(value(policy, { ...reader, agent: { roles: [] }, args: { path: '/root' } }, 'authz/reasons'), ['no role', 'path /root is denied']);
  t.same(value(policy, reader, 'authz/tiers'), { a: 'low', b: 'mid', c: 'high' }, 'function else chain in a comprehension');
  t.equal(value(policy, reader, 'authz/all_small'), true);
  t.equal(value(policy, { ...reader, sizes: { a: 5000 } }, 'authz/all_small'), undefined, 'every fails');
  t.same(value(policy, reader, 'authz/paths'), [['a'], ['b'], ['c']], 'walk relation');
});

t.test('partial objects, ref heads, imports and the data tree', async (t) => {
  const policy = await load({
    'lib.rego': 'package lib\ndouble(x) := x * 2\nlimits[name] := n if some name, n in data.base',
    'main.rego': `package main
import data.lib
by_ref.agents[a].limit := lib.double(n) if some a, n in lib.limits
tree := data.lib.limits
dynamic := [k | data.lib[k]]
`,
  }, ['main/by_ref', 'main/tree', 'main/dynamic']);
  policy.setData({ base: { alpha: 1, beta: 2 } });
  t.same(value(policy, {}, 'main/by_ref'), { agents: { alpha: { limit: 2 }, beta: { limit: 4 } } });
  t.same(value(policy, {}, 'main/tree'), { alpha: 1, beta: 2 });
  t.same(value(policy, {}, 'main/dynamic'), ['limits']);
});

t.test('with replaces input, data and functions for one expression only', async (t) => {
  const policy = await load({
    'w.rego': `package w
f(x) := x + 1
g(x) := x * 10
p := input.n
q := data.cfg.level
a := x if x := p with input.n as 7
b := x if x := q with data.cfg.level as "high"
c := x if x := f(1) with f as g
d := x if x := count([1]) with count as 9
mocked := [a, b, c, d, p, q, f(1), count([1])]
`,
  }, ['w/mocked']);
  policy.setData({ cfg: { level: 'low' } });
  t.same(value(policy, { n: 1 }, 'w/mocked'), [7, 'high', 10, 9, 1, 'low', 2, 1]);
});

t.test('a default value computed from data applies only when the rule is undefined', async (t) => {
  const policy = await load({ 'd.rego': 'package d\ndefault p := [x | some x in data.base]\np := "set" if input.set\n' }, ['d/p', 'd']);
  policy.setData({ base: ['a', 'b'] });
  t.same(value(policy, {}, 'd/p'), ['a', 'b']);
  t.equal(value(policy, { set: true }, 'd/p'), 'set');
  t.same(value(policy, {}, 'd'), { p: ['a', 'b'] }, 'nothing else appears in the package');
});

t.test('conflicting complete rule values abort evaluation', async (t) => {
  const policy = await load({ 'c.rego': 'package c\np := x if some x in input.xs' }, ['c/p']);
  t.equal(value(policy, { xs: [1] }, 'c/p'), 1);
  t.match(thrown(() => policy.evaluate({ xs: [1, 2] }, 'c/p')), /^eval_conflict_error: complete rules must not produce multiple outputs/);
  t.equal(value(policy, { xs: [2, 2] }, 'c/p'), 2, 'the instance keeps working after an abort');
});

t.test('invalid policies fail to compile with a located RegoError', async (t) => {
  const err = t.throws(() => compile({ modules: { 'bad.rego': 'package bad\np if {\n  x > 1\n}' }, entrypoints: ['bad/p'] }));
  t.ok(err instanceof RegoError);
  t.match(err, { code: 'rego_unsafe_var_error', detail: 'var x is unsafe', loc: { file: 'bad.rego', line: 3, col: 3 } });
  t.match(thrown(() => compile({ modules: { 'bad.rego': 'package bad\np := nope(1)' }, entrypoints: [] })), /bad\.rego:2:6: rego_type_error: undefined function nope/);
  t.match(thrown(() => compile({ modules: { 'bad.rego': 'package bad\np if {\n  some v\n  true\n}' }, entrypoints: [] })), /bad\.rego:3:8: rego_compile_error: declared var v unused/);
});

t.test('an object literal with a scalar key written twice keeps its last value, as OPA parses it', async (t) => {
  const policy = await load({ 'o.rego': 'package o\nimport rego.v1\nx := {"b": to_number(input.s), "a": 0, "b": 1, 2: "x", 2.0: "y"}' }, ['o/x']);
  t.same(value(policy, { s: 'not a number' }, 'o/x'), { a: 0, b: 1, 2: 'y' }, 'the first "b" is never evaluated');
});

t.test('a few hundred lines of Rego compile into one module', async (t) => {
  const lines = ['package big', 'import rego.v1'];
  for (let i = 0; i < 100; i++) {
    lines.push(`r${i} contains x if { some x in input.items; x.kind == "k${i}"; count(x.tags) > ${i % 5} }`);
    lines.push(`f${i}(a) := b if { b := {k: v | some k, v in a; startswith(k, "p${i}")} }`);
    lines.push(`allow${i} if { not r${i}[_]; f${i}(input.attrs) == {} }`);
  }
  // Compile time is measured by `npm run bench`, not asserted here.
  const wasm = compile({ modules: { 'big.rego': lines.join('\n') }, entrypoints: ['big/allow0'] });
  t.ok(WebAssembly.validate(wasm), 'the module is valid WebAssembly');
});
