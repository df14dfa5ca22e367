// JSON and value text parsing/dumping of the runtime, through its exports,
// plus memory behaviour across many evaluations and failures at load time.
import t from 'tap';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { emitModule, requiredMemoryPages } from '../gateway/policy/wasm/link.js';
import type { Plan } from '../gateway/policy/compiler/ir.js';

const echoInput: Plan = {
  version: 1,
  groups: [{ path: ['echo'], kind: 'rule', keys: 0, leaf: 'value', defs: [{ nslots: 1, keys: [], value: ['v', 0], body: [['ref', ['input'], [], 0]], elses: [] }] }],
  tree: { c: { echo: { g: 0 } } },
  entrypoints: [{ name: 'echo', path: ['echo'] }],
  hostBuiltins: [],
};

interface Exports {
  eval(ctx: number): number;
  opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number): number;
  opa_eval_ctx_new(): number;
  opa_eval_ctx_set_input(ctx: number, v: number): void;
  opa_eval_ctx_set_data(ctx: number, v: number): void;
  opa_eval_ctx_set_entrypoint(ctx: number, ep: number): void;
  opa_eval_ctx_get_result(ctx: number): number;
  opa_malloc(n: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_value_parse(addr: number, len: number): number;
  opa_json_dump(v: number): number;
  opa_value_dump(v: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(p: number): void;
  opa_value_add_path(base: number, path: number, value: number): number;
  opa_value_remove_path(base: number, path: number): number;
}

async function runtime() {
  const policy = await loadPolicy(emitModule(echoInput));
  // The loader keeps the instance and memory on the policy object.
  const inner = policy as unknown as { wasmInstance: { exports: Exports }; mem: { buffer: ArrayBuffer } };
  const ex = inner.wasmInstance.exports;
  const write = (text: string): [number, number] => {
    const bytes = new TextEncoder().encode(text);
    const addr = ex.opa_malloc(bytes.length);
    new Uint8Array(inner.mem.buffer).set(bytes, addr);
    return [addr, bytes.length];
  };
  const read = (addr: number): string => {
    const buf = new Uint8Array(inner.mem.buffer);
    let end = addr;
    while (buf[end] !== 0) end++;
    return new TextDecoder().decode(buf.subarray(addr, end));
  };
  return {
    policy,
    ex,
    inner,
    parse: (text: string, rego = false) => (rego ? ex.opa_value_parse : ex.opa_json_parse)(...write(text)),
    json: (text: string) => read(ex.opa_json_dump(ex.opa_json_parse(...write(text)))),
    value: (text: string) => read(ex.opa_value_dump(ex.opa_value_parse(...write(text)))),
    dumpValue: (addr: number) => read(ex.opa_value_dump(addr)),
    write,
    read,
  };
}

t.test('JSON round trips', async (t) => {
  const r = await runtime();
  const cases: Array<[string, string]> = [
    ['null', 'null'], ['true', 'true'], [' false ', 'false'],
    ['0', '0'], ['-0', '0'], ['1.0', '1'], ['1e3', '1000'], ['-12345678901234', '-12345678901234'],
    ['9007199254740993', '9007199254740992'], ['0.1', '0.1'], ['1.5e-7', '1.5e-7'], ['123456789.125', '123456789.125'],
    ['1e300', '1e+300'], ['2.5E+3', '2500'],
    ['"a\\"b\\\\c\\/\\n\\t\\u00e9\\ud83d\\ude00"', '"a\\"b\\\\c/\\n\\té😀"'],
    ['"\\u0001"', '"\\u0001"'], ['"日本語"', '"日本語"'],
    ['{"b":1,"a":[1,{"c":null}],"":2}', '{"":2,"a":[1,{"c":null}],"b":1}'],
    ['{"a":1,"a":2}', '{"a":2}'], ['[]', '[]'], ['{}', '{}'],
  ];
  for (const [input, want] of cases) t.equal(r.json(input), want, input);
  for (const bad of ['', '{', '[1,]', '{"a"}', '{1:2}', 'tru', '"\\x"', '"abc', '01x', '[1] 2', '-', '1.', '"\u0001"', '{1}', 'set()']) {
    t.equal(r.parse(bad), 0, `rejects ${JSON.stringify(bad)}`);
  }
  t.equal(r.parse('['.repeat(10000) + ']'.repeat(10000)), 0, 'deep nesting is rejected, not a crash');
  t.equal(JSON.parse(r.json(JSON.stringify(0.1 + 0.2))), 0.1 + 0.2, 'floats round-trip exactly');
  for (const n of [Math.PI, 1 / 3, 5e-324, 1.7976931348623157e308, 123.456, -2.2250738585072014e-308]) {
    t.equal(JSON.parse(r.json(JSON.stringify(n))), n, `float ${n}`);
  }
});

t.test('value text round trips', async (t) => {
  const r = await runtime();
  const cases: Array<[string, string]> = [
    ['set()', 'set()'], ['{3, 1, 2, 1}', '{1,2,3}'], ['{1: "a", "b": set(), [1]: {2}}', '{1:"a","b":set(),[1]:{2}}'],
    ['{"x": {true, null}}', '{"x":{null,true}}'], ['[{1}, {}]', '[{1},{}]'],
    ['{{1}: 2}', '{{1}:2}'],
  ];
  for (const [input, want] of cases) t.equal(r.value(input), want, input);
  // JSON dump of Rego values: sets become arrays, non-string keys their text.
  t.equal(r.json('{"a":1}'), '{"a":1}');
  const addr = r.parse('{1: {2, 3}, "k": set()}', true);
  t.equal(new TextDecoder().decode(new Uint8Array(0)), '');
  t.equal(r.dumpValue(addr), '{1:{2,3},"k":set()}');
  t.equal(r.parse('{1: }', true), 0);
});

t.test('OPA order: null < boolean < number < string < array < object < set', async (t) => {
  const r = await runtime();
  t.equal(r.value('{{1}, {"a": 1}, [1], "s", 2, false, null, true, 1, [0, 5], [0], {"a": 0}, {"b": 0}, {0}}'),
    '{null,false,true,1,2,"s",[0],[0,5],[1],{"a":0},{"a":1},{"b":0},{0},{1}}');
  t.equal(r.value('{"😀", "\uffff", "b", "ab", "a"}'), '{"a","ab","b","\uffff","😀"}', 'strings by code point');
});

t.test('add_path and remove_path', async (t) => {
  const r = await runtime();
  const base = r.parse('{"a":{"b":1}}');
  t.equal(r.ex.opa_value_add_path(base, r.parse('["a","x","y"]'), r.parse('{"foo":"bar"}')), 0);
  t.equal(r.dumpValue(base), '{"a":{"b":1,"x":{"y":{"foo":"bar"}}}}');
  t.equal(r.ex.opa_value_add_path(base, r.parse('["a","b","c"]'), r.parse('1')), 2, 'through a non-object');
  t.equal(r.ex.opa_value_remove_path(base, r.parse('["a","x"]')), 0);
  t.equal(r.dumpValue(base), '{"a":{"b":1}}');
  t.equal(r.ex.opa_value_remove_path(base, r.parse('["nope"]')), 3);
  t.equal(r.ex.opa_value_add_path(base, r.parse('[1]'), r.parse('1')), 3, 'path must hold strings');
});

t.test('inputs round-trip through evaluation', async (t) => {
  const { policy } = await runtime();
  const input = { s: 'ü\u2028\u0000"\\', n: [0, -1, 1e-9, 2 ** 52, 1e21], nested: { deep: [[[{}]]] } };
  t.same(policy.evaluate(input), [{ result: input }]);
  t.same(policy.evaluate('text'), [{ result: 'text' }]);
});

t.test('heap is reset between evaluations: memory stays bounded', async (t) => {
  const { policy, inner } = await runtime();
  const input = { users: Array.from({ length: 50 }, (_, i) => ({ name: `user${i}`, roles: ['a', 'b'] })) };
  policy.evaluate(input);
  const before = inner.mem.buffer.byteLength;
  for (let i = 0; i < 10000; i++) policy.evaluate(input);
  t.equal(inner.mem.buffer.byteLength, before, 'no growth over 10,000 evaluations');
});

t.test('large plans: the memory import grows to hold them', async (t) => {
  const big: Plan = { ...echoInput, groups: [{ ...echoInput.groups[0]!, path: ['echo'], default: ['c', 'x'.repeat(600_000)] }] };
  const wasm = emitModule(big);
  const pages = requiredMemoryPages(wasm);
  t.ok(pages >= 10);
  const policy = await loadPolicy(wasm, pages);
  t.same(policy.evaluate(1), [{ result: 1 }]);
});

t.test('a malformed plan fails at load with a clear message', async (t) => {
  const bad = { ...echoInput, groups: [{ ...echoInput.groups[0]!, defs: [{ nslots: 1, keys: [], value: ['v', 0], body: [['bogus']], elses: [] }] }] } as unknown as Plan;
  t.match(await loadPolicy(emitModule(bad)).catch(String), /^internal_error: malformed plan: unknown literal bogus/);
  const badRef = { ...echoInput, groups: [{ ...echoInput.groups[0]!, defs: [{ nslots: 1, keys: [], value: ['v', 0], body: [['ref', ['rule', 7], [], 0]], elses: [] }] }] } as Plan;
  t.match(await loadPolicy(emitModule(badRef)).catch(String), /rule index out of range/);
  const badSlot = { ...echoInput, groups: [{ ...echoInput.groups[0]!, defs: [{ nslots: 1, keys: [], value: ['v', 0], body: [['ref', ['input'], [], 5]], elses: [] }] }] } as Plan;
  const policy = await loadPolicy(emitModule(badSlot));
  t.match((() => { try { return policy.evaluate({}); } catch (e) { return String(e); } })(), /^internal_error: /, 'a slot out of range aborts');
  t.match(await loadPolicy(emitModule({ ...echoInput, version: 2 } as unknown as Plan)).catch(String), /unsupported version/);
});

t.test('invalid entrypoint and invalid input JSON', async (t) => {
  const { policy } = await runtime();
  t.throws(() => policy.evaluate({}, 5));
  t.throws(() => policy.evaluate(new TextEncoder().encode('{"a":').buffer as ArrayBuffer));
  t.same(policy.evaluate({ ok: 1 }), [{ result: { ok: 1 } }], 'still usable');
});

t.test('running out of memory aborts cleanly; the next evaluation works', async (t) => {
  // pairs := [[x, y] | some x in input; some y in input]: quadratic in the input.
  const pairs: Plan = {
    ...echoInput,
    groups: [{ path: ['echo'], kind: 'rule', keys: 0, leaf: 'value', defs: [{
      nslots: 4, keys: [], value: ['v', 3], elses: [], body: [
        ['ref', ['input'], [], 0],
        ['compr', 'array', ['arr', [['v', 1], ['v', 2]]], [['scan', ['v', 0], null, ['v', 1]], ['scan', ['v', 0], null, ['v', 2]]], 3],
      ],
    }] }],
  };
  const wasm = emitModule(pairs);
  const pages = requiredMemoryPages(wasm);
  const policy = await loadPolicy(wasm, { initial: pages + 2, maximum: pages + 8 });
  const big = Array.from({ length: 2000 }, (_, i) => i);
  let message = '';
  try {
    policy.evaluate(big);
  } catch (e) {
    message = String(e);
  }
  t.equal(message, 'internal_error: out of memory');
  t.same(policy.evaluate([1, 2]), [{ result: [[1, 1], [1, 2], [2, 1], [2, 2]] }]);
});

t.test('the context-based eval path and value-text results of opa_eval', async (t) => {
  const r = await runtime();
  const ctx = r.ex.opa_eval_ctx_new();
  r.ex.opa_eval_ctx_set_input(ctx, r.parse('{1, 2}', true));
  r.ex.opa_eval_ctx_set_data(ctx, r.parse('{}'));
  r.ex.opa_eval_ctx_set_entrypoint(ctx, 0);
  r.ex.eval(ctx);
  t.equal(r.dumpValue(r.ex.opa_eval_ctx_get_result(ctx)), '[{"result":{1,2}}]');
  const [addr, len] = r.write('[1,"a"]');
  const heap = r.ex.opa_heap_ptr_get();
  t.equal(r.read(r.ex.opa_eval(0, 0, r.parse('{}'), addr, len, heap, 1)), '[{"result":[1,"a"]}]');
  t.equal(r.read(r.ex.opa_eval(0, 0, r.parse('{}'), addr, 0, heap, 0)), '[]', 'no input: undefined');
  // A heap pointer below the runtime's own data is raised to it rather than corrupting the plan.
  r.ex.opa_heap_ptr_set(0);
  t.ok(r.ex.opa_heap_ptr_get() > 0);
  t.same(r.policy.evaluate({ still: 'works' }), [{ result: { still: 'works' } }]);
});
