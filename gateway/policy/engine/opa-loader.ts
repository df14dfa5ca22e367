/**
 * The one binding to the unmodified @open-policy-agent/opa-wasm loader, and
 * to the WebAssembly global (this project compiles against Node's types only,
 * which do not declare it).
 */
import { createRequire } from 'node:module';
import type * as OpaWasm from '@open-policy-agent/opa-wasm';

export type LoadedPolicy = OpaWasm.LoadedPolicy;

/** An opaque compiled WebAssembly.Module. */
export interface CompiledWasm {
  readonly [Symbol.toStringTag]: string;
}

interface WebAssemblyApi {
  Module: {
    new (bytes: Uint8Array): CompiledWasm;
    customSections(module: CompiledWasm, name: string): ArrayBuffer[];
  };
  RuntimeError: new () => Error;
}

const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

// The package's ESM entry exports only loadPolicy; its CommonJS entry has loadPolicySync too.
const opa = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as typeof OpaWasm;

/** Compiles WebAssembly bytes; throws (a WebAssembly.CompileError) when they are not a valid module. */
export function compileWasm(bytes: Uint8Array): CompiledWasm {
  return new wasmApi.Module(bytes);
}

/** The payloads of the module's custom sections called `name`. */
export function customSections(module: CompiledWasm, name: string): ArrayBuffer[] {
  return wasmApi.Module.customSections(module, name);
}

/** True for a WebAssembly trap (unreachable, out-of-bounds access, stack overflow, ...). */
export function isWasmTrap(err: unknown): err is Error {
  return err instanceof wasmApi.RuntimeError;
}

export const loadPolicySync = opa.loadPolicySync;
