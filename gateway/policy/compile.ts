/**
 * Rego sources → OPA-ABI WebAssembly module, with no `opa` binary: parse,
 * plan, then link the plan into the evaluator runtime.
 */
import { emitModule } from './wasm/link.js';
import { compileToPlan } from './compiler/planner.js';
import type { CompileOptions } from './compiler/planner.js';

/** Compiles Rego (v1) modules; throws RegoError (with a location) for invalid policies. */
export function compile(options: CompileOptions): Uint8Array {
  return emitModule(compileToPlan(options));
}
