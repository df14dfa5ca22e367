// The linker: plan JSON embedded into the runtime module, sentinel globals
// patched, memory import and data count kept consistent.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { NATIVE_BUILTINS } from '../gateway/policy/builtins/natives.js';
import { emitModule, linkPlanJson, requiredMemoryPages, LinkError } from '../gateway/policy/wasm/link.js';
import type { Plan } from '../gateway/policy/compiler/ir.js';

// Node provides WebAssembly; the project's lib settings do not declare it.
declare const WebAssembly: {
  Module: { new (bytes: Uint8Array): object; exports(m: object): Array<{ name: string; kind: string }>; imports(m: object): Array<{ module: string; name: string; kind: string }> };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Instance: new (m: object, imports: object) => { exports: Record<string, { value: number } | ((...a: number[]) => number)> };
};

const plan: Plan = {
  version: 1,
  groups: [{ path: ['p'], kind: 'rule', keys: 0, leaf: 'value', defs: [{ nslots: 0, keys: [], value: ['c', 'é'], body: [], elses: [] }] }],
  tree: { c: { p: { g: 0 } } },
  entrypoints: [{ name: 'p', path: ['p'] }],
  hostBuiltins: [],
};

const ABI_EXPORTS = [
  'opa_wasm_abi_version', 'opa_wasm_abi_minor_version', 'eval', 'builtins', 'entrypoints',
  'opa_eval_ctx_new', 'opa_eval_ctx_set_input', 'opa_eval_ctx_set_data', 'opa_eval_ctx_set_entrypoint', 'opa_eval_ctx_get_result',
  'opa_malloc', 'opa_free', 'opa_json_parse', 'opa_value_parse', 'opa_json_dump', 'opa_value_dump',
  'opa_heap_ptr_get', 'opa_heap_ptr_set', 'opa_eval', 'memory',
];

function instantiate(wasm: Uint8Array) {
  const module = new WebAssembly.Module(wasm);
  const memory = new WebAssembly.Memory({ initial: requiredMemoryPages(wasm) });
  const abort = (): never => { throw new Error('abort'); };
  const instance = new WebAssembly.Instance(module, { env: { memory, opa_abort: abort, opa_println: abort, opa_builtin1: abort } });
  return { module, memory, exports: instance.exports };
}

t.test('the linked module has the ABI and the plan above the heap base', async (t) => {
  const wasm = emitModule(plan);
  const { module, memory, exports } = instantiate(wasm);
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of ABI_EXPORTS) t.ok(names.includes(name), `exports ${name}`);
  t.same(WebAssembly.Module.imports(module).filter((i) => i.kind === 'memory'), [{ module: 'env', name: 'memory', kind: 'memory' }]);
  t.equal((exports['opa_wasm_abi_version'] as { value: number }).value, 1);
  t.equal((exports['opa_wasm_abi_minor_version'] as { value: number }).value, 2);
  const addr = (exports['portcullis_plan_addr'] as { value: number }).value;
  const len = (exports['portcullis_plan_len'] as { value: number }).value;
  const base = (exports['portcullis_heap_base'] as { value: number }).value;
  t.ok(addr >= base && addr % 16 === 0, 'plan at the first aligned address at or above the heap base');
  const json = new TextDecoder().decode(new Uint8Array(memory.buffer, addr, len));
  t.same(JSON.parse(json), plan);
  const heap = (exports['opa_heap_ptr_get'] as () => number)();
  t.ok(heap >= addr + len, 'the heap starts above the plan');
});

t.test('linker errors', async (t) => {
  const wasm = emitModule(plan);
  const linkError = (message: RegExp) => ({ name: 'LinkError', message });
  t.throws(() => linkPlanJson(wasm, 0, new Uint8Array([0x7b, 0x7d])), linkError(/already linked/), 'a linked module cannot be linked again');
  t.throws(() => linkPlanJson(new Uint8Array([1, 2, 3]), 0, new Uint8Array()), linkError(/not a WebAssembly module/));
  t.throws(() => linkPlanJson(wasm.subarray(0, 100), 0, new Uint8Array()), linkError(/truncated/));
  t.ok(new LinkError('x') instanceof Error);
});

t.test('the planner and the runtime agree on which built-ins are native', async (t) => {
  // The runtime is AssemblyScript and cannot import the planner's list, so the two are compared here.
  const source = readFileSync(new URL('../gateway/policy/wasm/assembly/natives.ts', import.meta.url), 'utf8');
  const block = /const NAMES: string\[\] = \[([\s\S]*?)\];/.exec(source)?.[1] ?? '';
  const runtimeNames = [...block.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  t.ok(runtimeNames.length > 0, 'the runtime lists its natives');
  t.same([...runtimeNames].sort(), [...NATIVE_BUILTINS].sort());
});
