/**
 * The Portcullis side of the differential tests: the same modules compiled
 * by Portcullis's own compiler and evaluated by the gateway's PolicyEngine
 * (the unmodified @open-policy-agent/opa-wasm loader with the project's host
 * built-ins), each probed rule wrapped in the same tagging helper as on the
 * OPA side (opa-reference-value.ts).
 */
import { compile } from '../gateway/policy/compile.js';
import { PolicyEngine, PolicyEvaluationError } from '../gateway/policy/engine/engine.js';
import { fromJsonValue, TAG_FUNCTION, TAG_HELPER_REGO } from './opa-reference-value.js';
import type { Outcome, Probe } from './opa-reference-value.js';

const WRAPPER_PACKAGE = 'pcr_probe';

function wrapperModule(queries: string[]): string {
  const rules = queries.map((q, k) => `q${k} := ${TAG_FUNCTION}(data.${q.replace(/^data\./, '')})`);
  return [`package ${WRAPPER_PACKAGE}`, 'import rego.v1', TAG_HELPER_REGO, ...rules].join('\n\n');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Compiled wasm per query index, or the compile error; one module for all queries when possible. */
function compileQueries(modules: Record<string, string>, queries: string[]): Array<Uint8Array | string> {
  const compileSome = (indices: number[]): Uint8Array => compile({
    modules: { ...modules, 'pcr_probe.rego': wrapperModule(queries) },
    entrypoints: indices.map((k) => `${WRAPPER_PACKAGE}/q${k}`),
  });
  try {
    const wasm = compileSome(queries.map((_, k) => k));
    return queries.map(() => wasm);
  } catch {
    // Some query does not compile: find out which, one by one.
    return queries.map((_, k) => {
      try {
        return compileSome([k]);
      } catch (err) {
        return `compile: ${message(err)}`;
      }
    });
  }
}

/** Evaluates each probe against the modules (file name → Rego source). */
export function evaluateWithPortcullis(modules: Record<string, string>, probes: Probe[]): Outcome[] {
  const queries = [...new Set(probes.map((p) => p.query))];
  const compiled = compileQueries(modules, queries);
  // One engine per compiled module and data document; the input changes per call.
  const engines = new Map<Uint8Array, Map<string, PolicyEngine>>();
  const engineFor = (wasm: Uint8Array, entrypoint: string, data: unknown): PolicyEngine => {
    const byData = engines.get(wasm) ?? new Map<string, PolicyEngine>();
    engines.set(wasm, byData);
    const key = JSON.stringify(data);
    let engine = byData.get(key);
    if (!engine) {
      engine = new PolicyEngine(wasm, { revision: 'differential', data, entrypoint });
      byData.set(key, engine);
    }
    return engine;
  };
  return probes.map((p): Outcome => {
    const k = queries.indexOf(p.query);
    const wasm = compiled[k]!;
    if (typeof wasm === 'string') return { kind: 'error', message: wasm };
    let resultSet: unknown;
    const entrypoint = `${WRAPPER_PACKAGE}/q${k}`;
    try {
      resultSet = engineFor(wasm, entrypoint, p.data ?? {}).evaluate(p.input, entrypoint);
    } catch (err) {
      return { kind: 'error', message: err instanceof PolicyEvaluationError ? err.reason : message(err) };
    }
    if (!Array.isArray(resultSet) || resultSet.length > 1) return { kind: 'error', message: `unexpected result set ${JSON.stringify(resultSet)}` };
    const first = resultSet[0] as { result?: unknown } | undefined;
    return first === undefined ? { kind: 'undefined' } : { kind: 'value', value: fromJsonValue(first.result) };
  });
}
