// The OPA WebAssembly ABI 1.2 surface of the policy runtime (see
// /work/shared/opa-conformance/docs/opa-wasm-abi.md and the npm loader).
//
// heapGet and heapSet are @global functions of the custom runtime (./rt.ts):
// it is compiled as an entry of its own, so it exports nothing and the
// module's exports are the ABI only.
import { portcullis_plan_addr, portcullis_plan_len, portcullis_heap_base, planLinked } from "./embed";
import { Value, K_OBJ, K_ARR, K_STR, mkArr, mkStr, mkNum, mkEmptyObj, objGet, objPut, search } from "./value";
import { parseText, dumpAddr } from "./text";
import { decodePlan, Plan } from "./plan";
import { setPlan, getPlan, evalEntrypoint } from "./eval";
import { fail } from "./abort";

export { portcullis_plan_addr, portcullis_plan_len, portcullis_heap_base };

export const opa_wasm_abi_version: i32 = 1;
export const opa_wasm_abi_minor_version: i32 = 2;

// Decode the embedded plan during instantiation (the start function), before
// the loader first reads the heap pointer, so it lives below every evaluation.
if (planLinked()) {
  const planJson = parseText(<usize>portcullis_plan_addr, <usize>portcullis_plan_len, false);
  if (planJson === null) fail("internal_error: malformed plan: invalid JSON");
  setPlan(decodePlan(planJson!));
}

// Everything below this address (runtime statics, the plan) must outlive every
// evaluation: the heap pointer is never set below it.
const heapFloor: usize = heapGet();

class EvalCtx {
  entrypoint: i32 = 0;
  input: Value | null = null;
  data: Value | null = null;
  result: Value | null = null;
}

function resultSet(v: Value | null): Value {
  if (v === null) return mkArr([]);
  const row = mkEmptyObj();
  objPut(row, mkStr("result"), v);
  return mkArr([row]);
}

function evalCtx(ctxAddr: usize): i32 {
  const ctx = changetype<EvalCtx>(ctxAddr);
  const data = ctx.data;
  ctx.result = resultSet(evalEntrypoint(ctx.entrypoint, ctx.input, data === null ? mkEmptyObj() : data));
  return 0;
}
export { evalCtx as eval };

/** { "portcullis/<name>": id } for the host built-ins of the plan. */
export function builtins(): usize {
  const p = getPlan();
  const obj = mkEmptyObj();
  for (let i = 0; i < p.hostBuiltins.length; i++) objPut(obj, mkStr("portcullis/" + p.hostBuiltins[i]), mkNum(<f64>i));
  return changetype<usize>(obj);
}

export function entrypoints(): usize {
  const p: Plan = getPlan();
  const obj = mkEmptyObj();
  for (let i = 0; i < p.entrypoints.length; i++) objPut(obj, mkStr(p.entrypoints[i].name), mkNum(<f64>i));
  return changetype<usize>(obj);
}

export function opa_eval_ctx_new(): usize {
  return changetype<usize>(new EvalCtx());
}

export function opa_eval_ctx_set_input(ctx: usize, v: usize): void {
  changetype<EvalCtx>(ctx).input = v == 0 ? null : changetype<Value>(v);
}

export function opa_eval_ctx_set_data(ctx: usize, v: usize): void {
  changetype<EvalCtx>(ctx).data = v == 0 ? null : changetype<Value>(v);
}

export function opa_eval_ctx_set_entrypoint(ctx: usize, ep: i32): void {
  changetype<EvalCtx>(ctx).entrypoint = ep;
}

export function opa_eval_ctx_get_result(ctx: usize): usize {
  const r = changetype<EvalCtx>(ctx).result;
  return r === null ? 0 : changetype<usize>(r);
}

export function opa_malloc(size: usize): usize {
  return __alloc(size);
}

export function opa_free(ptr: usize): void {
  __free(ptr);
}

export function opa_json_parse(addr: usize, len: usize): usize {
  const v = parseText(addr, len, false);
  return v === null ? 0 : changetype<usize>(v);
}

export function opa_value_parse(addr: usize, len: usize): usize {
  const v = parseText(addr, len, true);
  return v === null ? 0 : changetype<usize>(v);
}

export function opa_json_dump(v: usize): usize {
  return dumpAddr(changetype<Value>(v), false);
}

export function opa_value_dump(v: usize): usize {
  return dumpAddr(changetype<Value>(v), true);
}

export function opa_heap_ptr_get(): usize {
  return heapGet();
}

export function opa_heap_ptr_set(addr: usize): void {
  heapSet(max(addr, heapFloor));
}

/** Values live until the heap pointer is reset: there is nothing to free one by one. */
export function opa_value_free(v: usize): void {}

/** One-shot evaluation (ABI 1.2): input JSON at inputAddr, heap from heapPtr; returns NUL-terminated result text. */
export function opa_eval(reserved: usize, entrypoint: i32, dataAddr: usize, inputAddr: usize, inputLen: usize, heapPtr: usize, format: i32): usize {
  heapSet(max(heapPtr, heapFloor));
  let input: Value | null = null;
  if (inputLen > 0) {
    input = parseText(inputAddr, inputLen, false);
    if (input === null) fail("internal_error: input is not valid JSON");
  }
  const data = dataAddr == 0 ? mkEmptyObj() : changetype<Value>(dataAddr);
  return dumpAddr(resultSet(evalEntrypoint(entrypoint, input, data)), format == 1);
}

const ERR_OK: i32 = 0;
const ERR_INVALID_TYPE: i32 = 2;
const ERR_INVALID_PATH: i32 = 3;

/** Checks that `path` is an array of strings. */
function validPath(path: Value): bool {
  if (path.kind != K_ARR) return false;
  for (let i = 0; i < path.items.length; i++) if (path.items[i].kind != K_STR) return false;
  return true;
}

export function opa_value_add_path(baseAddr: usize, pathAddr: usize, valueAddr: usize): i32 {
  const base = changetype<Value>(baseAddr);
  const path = changetype<Value>(pathAddr);
  if (!validPath(path) || path.items.length == 0) return ERR_INVALID_PATH;
  if (base.kind != K_OBJ) return ERR_INVALID_TYPE;
  // Check the whole path first so that a failure leaves the base unchanged.
  let probe: Value | null = base;
  for (let i = 0; probe !== null && i < path.items.length - 1; i++) {
    probe = objGet(probe, path.items[i]);
    if (probe !== null && probe.kind != K_OBJ) return ERR_INVALID_TYPE;
  }
  let obj = base;
  const last = path.items.length - 1;
  for (let i = 0; i < last; i++) {
    let next = objGet(obj, path.items[i]);
    if (next === null) {
      next = mkEmptyObj();
      objPut(obj, path.items[i], next);
    }
    obj = next;
  }
  objPut(obj, path.items[last], changetype<Value>(valueAddr));
  return ERR_OK;
}

export function opa_value_remove_path(baseAddr: usize, pathAddr: usize): i32 {
  const path = changetype<Value>(pathAddr);
  if (!validPath(path) || path.items.length == 0) return ERR_INVALID_PATH;
  let obj = changetype<Value>(baseAddr);
  const last = path.items.length - 1;
  for (let i = 0; i < last; i++) {
    if (obj.kind != K_OBJ) return ERR_INVALID_PATH;
    const next = objGet(obj, path.items[i]);
    if (next === null) return ERR_INVALID_PATH;
    obj = next;
  }
  if (obj.kind != K_OBJ) return ERR_INVALID_PATH;
  const at = search(obj.items, path.items[last]);
  if (at < 0) return ERR_INVALID_PATH;
  obj.items.splice(at, 1);
  obj.vals.splice(at, 1);
  return ERR_OK;
}
