// Built-in functions implemented inside the runtime. The names must match
// gateway/policy/wasm/natives.ts, which tells the planner what is native.
// Errors (wrong operand types, division by zero) make the call undefined,
// as in OPA's WebAssembly target.
import { Value, K_NUM, K_STR, K_ARR, K_OBJ, K_SET, TRUE, mkArr, mkBool, mkNum, mkStr, mkSet, compare, equal, setHas, search, objGet, isInt } from "./value";
import { dumpString, marshalJson } from "./text";

// @ts-ignore: decorator
@external("env", "opa_println")
declare function opa_println(addr: usize): void;

const NAMES: string[] = [
  "equal", "neq", "lt", "lte", "gt", "gte",
  "plus", "minus", "mul", "div", "rem",
  "and", "or",
  "internal.member_2", "internal.member_3",
  "count", "print",
  "startswith", "endswith", "contains", "lower", "upper", "concat",
  "type_name", "is_null", "is_boolean", "is_number", "is_string", "is_array", "is_object", "is_set",
  "split", "trim", "trim_left", "trim_right", "trim_prefix", "trim_suffix",
  "floor", "ceil", "abs", "sum",
  "json.marshal",
];

// Ids: positions in NAMES.
const N_EQUAL: i32 = 0;
const N_NEQ: i32 = 1;
const N_LT: i32 = 2;
const N_LTE: i32 = 3;
const N_GT: i32 = 4;
const N_GTE: i32 = 5;
const N_PLUS: i32 = 6;
const N_MINUS: i32 = 7;
const N_MUL: i32 = 8;
const N_DIV: i32 = 9;
const N_REM: i32 = 10;
const N_AND: i32 = 11;
const N_OR: i32 = 12;
const N_MEMBER_2: i32 = 13;
const N_MEMBER_3: i32 = 14;
const N_COUNT: i32 = 15;
const N_PRINT: i32 = 16;
const N_STARTSWITH: i32 = 17;
const N_ENDSWITH: i32 = 18;
const N_CONTAINS: i32 = 19;
const N_LOWER: i32 = 20;
const N_UPPER: i32 = 21;
const N_CONCAT: i32 = 22;
const N_TYPE_NAME: i32 = 23;
const N_IS_NULL: i32 = 24;
// 25..30: the other is_<type> checks, in kind order.
const N_SPLIT: i32 = 31;
const N_TRIM: i32 = 32;
const N_TRIM_LEFT: i32 = 33;
const N_TRIM_RIGHT: i32 = 34;
const N_TRIM_PREFIX: i32 = 35;
const N_TRIM_SUFFIX: i32 = 36;
const N_FLOOR: i32 = 37;
const N_CEIL: i32 = 38;
const N_ABS: i32 = 39;
const N_SUM: i32 = 40;
const N_JSON_MARSHAL: i32 = 41;

const TYPE_NAMES: string[] = ["null", "boolean", "number", "string", "array", "object", "set"];

export function nativeId(name: string): i32 {
  return NAMES.indexOf(name);
}

function bothNum(a: Value, b: Value): bool {
  return a.kind == K_NUM && b.kind == K_NUM;
}

/** Result of native `id` on `args`, or null when undefined. */
export function callNative(id: i32, args: Value[]): Value | null {
  const n = args.length;
  if (id == N_PRINT) return print(args);
  if (id == N_COUNT) return n == 1 ? count(args[0]) : null;
  if (id == N_JSON_MARSHAL) return n == 1 ? mkStr(marshalJson(args[0])) : null;
  if (id == N_MEMBER_3) return n == 3 ? member3(args[0], args[1], args[2]) : null;
  if (id >= N_TYPE_NAME && id < N_SPLIT) return n == 1 ? typeCheck(id, args[0]) : null;
  if (id >= N_FLOOR && id <= N_SUM) return n == 1 ? numeric(id, args[0]) : null;
  if (id == N_LOWER || id == N_UPPER) return n == 1 && args[0].kind == K_STR ? mkStr(id == N_LOWER ? args[0].s.toLowerCase() : args[0].s.toUpperCase()) : null;
  if (n != 2) return null;
  const a = args[0];
  const b = args[1];
  switch (id) {
    case N_EQUAL: return mkBool(equal(a, b));
    case N_NEQ: return mkBool(!equal(a, b));
    case N_LT: return mkBool(compare(a, b) < 0);
    case N_LTE: return mkBool(compare(a, b) <= 0);
    case N_GT: return mkBool(compare(a, b) > 0);
    case N_GTE: return mkBool(compare(a, b) >= 0);
    case N_PLUS: return bothNum(a, b) ? mkNum(a.n + b.n) : null;
    case N_MINUS: {
      if (bothNum(a, b)) return mkNum(a.n - b.n);
      if (a.kind == K_SET && b.kind == K_SET) return setDifference(a, b);
      return null;
    }
    case N_MUL: return bothNum(a, b) ? mkNum(a.n * b.n) : null;
    case N_DIV: return bothNum(a, b) && b.n != 0 ? mkNum(a.n / b.n) : null;
    case N_REM: {
      if (!bothNum(a, b) || !isInt(a.n) || !isInt(b.n) || b.n == 0) return null;
      return mkNum(a.n % b.n);
    }
    case N_AND: return a.kind == K_SET && b.kind == K_SET ? setIntersection(a, b) : null;
    case N_OR: return a.kind == K_SET && b.kind == K_SET ? setUnion(a, b) : null;
    case N_MEMBER_2: return member2(a, b);
    case N_STARTSWITH: return a.kind == K_STR && b.kind == K_STR ? mkBool(a.s.startsWith(b.s)) : null;
    case N_ENDSWITH: return a.kind == K_STR && b.kind == K_STR ? mkBool(a.s.endsWith(b.s)) : null;
    case N_CONTAINS: return a.kind == K_STR && b.kind == K_STR ? mkBool(a.s.includes(b.s)) : null;
    case N_CONCAT: return concat(a, b);
  }
  if (a.kind != K_STR || b.kind != K_STR) return null;
  switch (id) {
    case N_SPLIT: return split(a.s, b.s);
    case N_TRIM: return mkStr(trimRight(trimLeft(a.s, b.s), b.s));
    case N_TRIM_LEFT: return mkStr(trimLeft(a.s, b.s));
    case N_TRIM_RIGHT: return mkStr(trimRight(a.s, b.s));
    case N_TRIM_PREFIX: return mkStr(a.s.startsWith(b.s) ? a.s.substring(b.s.length) : a.s);
    case N_TRIM_SUFFIX: return mkStr(b.s.length > 0 && a.s.endsWith(b.s) ? a.s.substring(0, a.s.length - b.s.length) : a.s);
  }
  return null;
}

function setDifference(a: Value, b: Value): Value {
  const out = new Array<Value>(0);
  for (let i = 0; i < a.items.length; i++) if (!setHas(b, a.items[i])) out.push(a.items[i]);
  return mkSet(out);
}

function setIntersection(a: Value, b: Value): Value {
  const out = new Array<Value>(0);
  for (let i = 0; i < a.items.length; i++) if (setHas(b, a.items[i])) out.push(a.items[i]);
  return mkSet(out);
}

function setUnion(a: Value, b: Value): Value {
  if (b.items.length == 0) return a;
  if (a.items.length == 0) return b;
  return mkSet(a.items.concat(b.items));
}

function member2(x: Value, coll: Value): Value {
  if (coll.kind == K_SET) return mkBool(setHas(coll, x));
  if (coll.kind == K_ARR) {
    for (let i = 0; i < coll.items.length; i++) if (equal(coll.items[i], x)) return TRUE;
  } else if (coll.kind == K_OBJ) {
    for (let i = 0; i < coll.vals.length; i++) if (equal(coll.vals[i], x)) return TRUE;
  }
  return mkBool(false);
}

function member3(k: Value, v: Value, coll: Value): Value {
  if (coll.kind == K_ARR) {
    if (k.kind != K_NUM || !isInt(k.n) || k.n < 0 || k.n >= <f64>coll.items.length) return mkBool(false);
    return mkBool(equal(coll.items[<i32>k.n], v));
  }
  if (coll.kind == K_OBJ) {
    const found = objGet(coll, k);
    return mkBool(found !== null && equal(found, v));
  }
  if (coll.kind == K_SET) return mkBool(equal(k, v) && search(coll.items, k) >= 0);
  return mkBool(false);
}

function count(v: Value): Value | null {
  if (v.kind == K_STR) {
    const s = v.s;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // A surrogate pair is one code point: count only its first half.
      if (c < 0xdc00 || c > 0xdfff) n++;
    }
    return mkNum(<f64>n);
  }
  if (v.kind == K_ARR || v.kind == K_SET || v.kind == K_OBJ) return mkNum(<f64>v.items.length);
  return null;
}

/** print(args...): strings verbatim, other values as value text, separated by spaces. */
function print(args: Value[]): Value {
  let line = "";
  for (let i = 0; i < args.length; i++) {
    if (i > 0) line += " ";
    const a = args[i];
    line += a.kind == K_STR ? a.s : dumpString(a, true);
  }
  opa_println(changetype<usize>(String.UTF8.encode(line, true)));
  return TRUE;
}

/** type_name, and is_<type> (ids in kind order from N_IS_NULL). */
function typeCheck(id: i32, v: Value): Value {
  if (id == N_TYPE_NAME) return mkStr(TYPE_NAMES[v.kind]);
  return mkBool(<i32>v.kind == id - N_IS_NULL);
}

/** concat(delimiter, array or set of strings). */
function concat(delim: Value, coll: Value): Value | null {
  if (delim.kind != K_STR || (coll.kind != K_ARR && coll.kind != K_SET)) return null;
  const parts = new Array<string>(coll.items.length);
  for (let i = 0; i < coll.items.length; i++) {
    const item = coll.items[i];
    if (item.kind != K_STR) return null;
    parts[i] = item.s;
  }
  return mkStr(parts.join(delim.s));
}

/** floor, ceil, abs of a number; sum of an array or set of numbers. */
function numeric(id: i32, v: Value): Value | null {
  if (id == N_SUM) {
    if (v.kind != K_ARR && v.kind != K_SET) return null;
    let total: f64 = 0;
    for (let i = 0; i < v.items.length; i++) {
      if (v.items[i].kind != K_NUM) return null;
      total += v.items[i].n;
    }
    return mkNum(total);
  }
  if (v.kind != K_NUM) return null;
  if (id == N_FLOOR) return mkNum(Math.floor(v.n));
  if (id == N_CEIL) return mkNum(Math.ceil(v.n));
  return mkNum(Math.abs(v.n));
}

/** The code points of `s` as strings (surrogate pairs stay together). */
function codePoints(s: string): string[] {
  const out = new Array<string>(0);
  let i = 0;
  while (i < s.length) {
    const w = isPairAt(s, i) ? 2 : 1;
    out.push(s.substring(i, i + w));
    i += w;
  }
  return out;
}

function isPairAt(s: string, i: i32): bool {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) return false;
  const d = s.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff;
}

/** split(s, delimiter): an empty delimiter splits into code points (Go's strings.Split). */
function split(s: string, delim: string): Value {
  const parts = delim.length == 0 ? codePoints(s) : s.split(delim);
  const items = new Array<Value>(parts.length);
  for (let i = 0; i < parts.length; i++) items[i] = mkStr(parts[i]);
  return mkArr(items);
}

/** Removes leading code points that occur in `cutset`. */
function trimLeft(s: string, cutset: string): string {
  let i = 0;
  while (i < s.length) {
    const w = isPairAt(s, i) ? 2 : 1;
    if (!cutset.includes(s.substring(i, i + w))) break;
    i += w;
  }
  return s.substring(i);
}

/** Removes trailing code points that occur in `cutset`. */
function trimRight(s: string, cutset: string): string {
  let j = s.length;
  while (j > 0) {
    const w = j >= 2 && isPairAt(s, j - 2) ? 2 : 1;
    if (!cutset.includes(s.substring(j - w, j))) break;
    j -= w;
  }
  return s.substring(0, j);
}
