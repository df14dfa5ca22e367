/**
 * The engine passes a policy only the parts of the input its plan can read
 * (compiler/input-paths.ts, recorded in a custom section by the linker).
 * These tests pin which paths count as read, that anything dynamic means the
 * whole input, and that decisions are the same as with the whole input.
 */
import t from 'tap';
import { compile } from '../gateway/policy/compile.js';
import { compileToPlan } from '../gateway/policy/compiler/planner.js';
import { INPUT_PATHS_SECTION, inputRecord } from '../gateway/policy/compiler/input-paths.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import type { EngineFailure } from '../gateway/policy/engine/engine.js';
import { compileWasm, customSections } from '../gateway/policy/engine/opa-loader.js';

const HEADER = 'package p\nimport rego.v1\n';

function recordOf(body: string) {
  return inputRecord(compileToPlan({ modules: { 'p.rego': HEADER + body }, entrypoints: ['p/out'] }));
}

function pathsOf(body: string): string[][] | null {
  return recordOf(body)?.paths ?? null;
}

t.test('constant paths are read, shortest first wins', async (t) => {
  t.same(pathsOf('out if { input.agent.name == "a"; input.message.method == "m" }'), [['agent', 'name'], ['message', 'method']]);
  t.same(pathsOf('out if { input.a.b == 1; input.a == {} }'), [['a']], 'a whole subtree covers the paths below it');
  t.same(pathsOf('m := input.message\nout if m.tool == "t"'), [['message']], 'a rule holding a subtree reads all of it');
  t.same(pathsOf('out := 1'), [], 'no input read at all');
});

t.test('a dynamic key reads everything below the constant prefix', async (t) => {
  t.same(pathsOf('out contains k if { some k, _ in input.args }'), [['args']]);
  t.same(pathsOf('out if input.list[0] == 1'), [['list']], 'a number key stops the prefix');
  t.same(pathsOf('out if { some i; input.a[i].b == 1 }'), [['a']]);
});

t.test('reads nested in not, every, comprehensions and with bodies count', async (t) => {
  t.same(pathsOf('out if not input.banned'), [['banned']]);
  t.same(pathsOf('out if every x in [1] { x == input.one }'), [['one']]);
  t.same(pathsOf('out := [x | some x in input.items]'), [['items']]);
  t.same(pathsOf('out := v if v := [1 | input.inner] with data.p.other as 2\nother := 1'), [['inner']]);
  t.same(pathsOf('f(x) := x if input.fn\nout := f(1)'), [['fn']], 'function bodies');
  t.same(pathsOf('out := 1 if input.a else := 2 if input.b'), [['a'], ['b']], 'else branches');
});

t.test('the whole input is read when the plan may see all of it', async (t) => {
  t.equal(pathsOf('out := json.marshal(input)'), null);
  t.equal(pathsOf('out contains k if { some k, _ in input }'), null);
  t.equal(pathsOf('out if { some k; input[k] == 1 }'), null);
  t.equal(pathsOf('out if { x := input; x.a == 1 }'), null);
  t.equal(pathsOf('out if q with input.a as 1\nq if input.b'), null, 'a with on input');
  t.equal(pathsOf('out if q with input as {}\nq if input.b'), null);
});

t.test('a plan is pure unless it calls a built-in that reads the clock, randomness or the process, or has side effects', async (t) => {
  t.equal(recordOf('out := concat("-", [input.a, sprintf("%d", [count(input.b)])])')?.pure, true);
  t.equal(recordOf('out := regex.match("^a", input.a)')?.pure, true, 'host built-ins that depend on their arguments only');
  for (const body of [
    'out := time.now_ns() > input.t',
    'out := rand.intn("k", 10) + count(input.b)',
    'out := uuid.rfc4122(input.k)',
    'out := opa.runtime().env if input.a',
    'out := io.jwt.decode_verify(input.jwt, {"secret": "s"})',
    'out if { print(input.a) }',
    'out if { trace(input.a) }',
  ]) {
    t.equal(recordOf(body)?.pure, false, body);
  }
});

t.test('the linker records the paths; a plan that reads everything has no record', async (t) => {
  const sectionOf = (body: string): string[] => {
    const wasm = compile({ modules: { 'p.rego': HEADER + body }, entrypoints: ['p/out'] });
    return customSections(compileWasm(wasm), INPUT_PATHS_SECTION).map((b) => new TextDecoder().decode(b));
  };
  t.same(sectionOf('out := input.a.b'), ['{"paths":[["a","b"]],"pure":true}']);
  t.same(sectionOf('out := input'), []);
});

function engineFor(body: string, maximum = 64) {
  const failures: EngineFailure[] = [];
  const wasm = compile({ modules: { 'p.rego': HEADER + body }, entrypoints: ['p/out'] });
  const engine = new PolicyEngine(wasm, { revision: 'r', entrypoint: 'p/out', memory: { initial: 2, maximum }, onFailure: (f) => failures.push(f) });
  return { engine, failures };
}

t.test('decisions are those of the whole input', async (t) => {
  const { engine } = engineFor('out := {"name": input.agent.name, "tool": input.tool, "missing": object.get(input, "x", "none")}');
  // object.get(input, ...) passes input as a value: the whole input is read.
  t.same(engine.evaluate({ agent: { name: 'n', id: 'i' }, tool: { flags: [] }, x: 'seen' }), [{ result: { name: 'n', tool: { flags: [] }, missing: 'seen' } }]);
  const projected = engineFor('out := [input.agent.name, input.tool, input.list]').engine;
  t.same(projected.evaluate({ agent: { name: 'n', cert: { serial: '1' } }, tool: { flags: ['f'] }, list: [{ a: 1 }], other: 2 }), [{ result: ['n', { flags: ['f'] }, [{ a: 1 }]] }]);
  t.same(projected.evaluate({ agent: 'not an object', tool: 1 }), [], 'a path through a scalar is undefined, as with the whole input');
  t.same(projected.evaluate([1, 2]), [], 'an input that is not an object is passed whole');
});

t.test('what the policy cannot read is neither serialised nor checked', async (t) => {
  const { engine, failures } = engineFor('out := input.agent.name', 8);
  const blob = 'x'.repeat(1024 * 1024);
  t.same(engine.evaluate({ agent: { name: 'n' }, unread: blob, odd: Number.NaN }), [{ result: 'n' }], 'a blob beyond the memory bound and a NaN outside the read paths');
  t.same(failures, []);
  t.throws(() => engine.evaluate({ agent: { name: Number.NaN } }), { name: 'PolicyEvaluationError' }, 'a NaN where the policy reads is refused');
});
