/**
 * Public API of `portcullis/policy`: compile Rego (v1) to an OPA-ABI
 * WebAssembly module that the unmodified @open-policy-agent/opa-wasm loader
 * runs, given the host built-ins from `hostBuiltinImports()`.
 */
export { compile } from './compile.js';
export { compileToPlan } from './compiler/planner.js';
export { requiredMemoryPages } from './wasm/link.js';
export type { CompileOptions } from './compiler/planner.js';
export type { Plan } from './compiler/ir.js';
export { RegoError } from './rego/ast.js';
export { hostBuiltinImports } from './builtins/index.js';
export { formatModule } from './rego/format.js';
export { policyAnnotations, readPolicyAnnotations } from './annotations.js';
export type { PolicyAnnotation } from './annotations.js';
