// The evaluator: depth-first over literals with in-place slot bindings that
// are undone on backtracking (a trail of bound slots). Solutions are passed
// to a Sink, which may stop the search (used by `not` and `every`).
import {
  Value, K_STR, K_ARR, K_OBJ, K_SET, NULL,
  K_BOOL, K_NUM, compareStrings, mkNum, mkStr, mkArr, mkSet, mkObj, mkObjSorted, mkEmptyObj, sortedOrder, equal, objGet, objPut, objCopy, setHas, isInt,
} from "./value";
import {
  Plan, Lit, Term, Def, Group, TreeNode, Callee, WithTarget,
  T_VAR, T_ARR, T_OBJ, T_SET, C_NATIVE, C_HOST, C_FUNC, visitLits,
  H_INPUT, H_DATA, H_RULE, L_UNIFY, L_REF, L_CALL, L_TRUTHY, L_NOT, L_SCAN, L_EVERY, L_COMPR, L_WITH,
  CO_ARRAY, CO_SET, CO_OBJECT, W_INPUT, W_DATA, W_FN, W_FNVAL,
} from "./plan";
import { fail } from "./abort";
import { callNative } from "./natives";
import { regexMatchNative, precompileRegex, REGEX_ARENA_BYTES } from "./regex";
import { globMatchSimple } from "./glob";
import { dumpString, parseString, numberText } from "./text";

// @ts-ignore: decorator
@external("env", "opa_builtin1")
declare function opa_builtin1(id: i32, ctx: usize, arg: usize): usize;

export type Env = StaticArray<Value | null>;

/** Nested rule and function evaluations allowed before aborting. */
const MAX_DEPTH: i32 = 256;

// Cache states of a rule group within a scope (0: not computed yet).
const ST_BUSY: u8 = 1;
const ST_DONE: u8 = 2;

/** Replacement of a function by a `with`: another callee or a constant value. */
class FnOverride {
  fn: Callee;
  repl: Callee | null;
  val: Value | null;
  constructor(fn: Callee, repl: Callee | null, val: Value | null) {
    this.fn = fn;
    this.repl = repl;
    this.val = val;
  }
}

class DataOverride {
  path: string[];
  val: Value;
  constructor(path: string[], val: Value) {
    this.path = path;
    this.val = val;
  }
}

/** Everything that a `with` may replace, saved and restored around its body. */
class Scope {
  input: Value | null = null;
  data: Value = NULL;
  dataOverrides: DataOverride[] = [];
  fnOverrides: FnOverride[] = [];
  cacheState: Uint8Array = new Uint8Array(0);
  cacheVal: Array<Value | null> = [];
}

let plan: Plan = new Plan();
let scope: Scope = new Scope();
// Recreated per evaluation: a buffer grown during one evaluation lies in heap that the next one reuses.
let trail: i32[] = [];
let depth: i32 = 0;

// The plan's host ids of glob.match and regex.match, whose common patterns the runtime matches itself (see ./glob, ./regex).
let globHostId: i32 = -1;
let regexHostId: i32 = -1;

export function setPlan(p: Plan): void {
  plan = p;
  globHostId = p.hostBuiltins.indexOf("glob.match");
  regexHostId = p.hostBuiltins.indexOf("regex.match");
  if (regexHostId < 0) return;
  dynamicRegex = false;
  visitLits(p, precompileRegexLit);
  if (dynamicRegex) arenaReserve(REGEX_ARENA_BYTES);
}

// Whether some regex.match call of the plan has a pattern known only at evaluation.
let dynamicRegex = false;

/**
 * Compiles the constant patterns of regex.match calls once, at instantiation:
 * they live below the heap floor and serve every evaluation. Other patterns
 * are compiled into an arena when first met (see ./regex).
 */
function precompileRegexLit(p: Plan, l: Lit): void {
  if (l.kind != L_CALL || l.callee.kind != C_HOST || l.callee.id != regexHostId || l.args.length != 2) return;
  const pattern = l.args[0].val;
  if (pattern !== null && pattern.kind == K_STR) precompileRegex(pattern.s);
  else dynamicRegex = true;
}

export function getPlan(): Plan {
  return plan;
}

function freshScope(input: Value | null, data: Value): Scope {
  const s = new Scope();
  s.input = input;
  s.data = data;
  const n = plan.groups.length;
  s.cacheState = new Uint8Array(n);
  s.cacheVal = new Array<Value | null>(n);
  return s;
}

class Sink {
  /** Receives one solution; returns false to stop the search. */
  emit(env: Env): bool {
    fail("internal_error: abstract sink");
    return false;
  }
}

class AnySink extends Sink {
  found: bool = false;
  emit(env: Env): bool {
    this.found = true;
    return false;
  }
}

class SlotSink extends Sink {
  slot: i32;
  result: Value | null = null;
  constructor(slot: i32) {
    super();
    this.slot = slot;
  }
  emit(env: Env): bool {
    this.result = env[this.slot];
    return false;
  }
}

/** Values of a complete rule or function: all solutions must agree. */
class ValueSink extends Sink {
  term: Term;
  result: Value | null = null;
  isFunc: bool;
  constructor(term: Term, isFunc: bool) {
    super();
    this.term = term;
    this.isFunc = isFunc;
  }
  emit(env: Env): bool {
    const v = evalTerm(this.term, env);
    const r = this.result;
    if (r === null) this.result = v;
    else if (!equal(r, v)) conflict(this.isFunc);
    return true;
  }
}

function conflict(isFunc: bool): void {
  fail(isFunc
    ? "eval_conflict_error: functions must not produce multiple outputs for same inputs"
    : "eval_conflict_error: complete rules must not produce multiple outputs");
}

/** Members of a partial set, collected unsorted and made a set once at the end. */
class MemberSink extends Sink {
  term: Term;
  members: Value[];
  constructor(term: Term, members: Value[]) {
    super();
    this.term = term;
    this.members = members;
  }
  emit(env: Env): bool {
    this.members.push(evalTerm(this.term, env));
    return true;
  }
}

/**
 * Partial objects: one row per solution (the dynamic keys, then the value),
 * built into nested objects once at the end (see buildRows).
 */
class RowSink extends Sink {
  def: Def;
  rows: Value[][];
  constructor(def: Def, rows: Value[][]) {
    super();
    this.def = def;
    this.rows = rows;
  }
  emit(env: Env): bool {
    const keys = this.def.keys;
    const row = new Array<Value>(keys.length + 1);
    for (let i = 0; i < keys.length; i++) row[i] = evalTerm(keys[i], env);
    row[keys.length] = evalTerm(this.def.value, env);
    this.rows.push(row);
    return true;
  }
}

const KEY_CONFLICT = "eval_conflict_error: object keys must be unique";

/**
 * The nested object of `rows` keyed by column `col` onwards: rows are sorted
 * by that column and grouped, so building n rows costs O(n log n). Leaves
 * hold a set of the rows' values (leafSet) or their one value; differing
 * values under one key are a conflict.
 */
function buildRows(rows: Value[][], col: i32, leafSet: bool): Value {
  const n = rows.length;
  const column = new Array<Value>(n);
  for (let i = 0; i < n; i++) column[i] = rows[i][col];
  const order = sortedOrder(column);
  const last = rows.length > 0 && col == rows[0].length - 2;
  const keys = new Array<Value>(0);
  const vals = new Array<Value>(0);
  let i = 0;
  while (i < n) {
    const key = column[order[i]];
    let j = i + 1;
    while (j < n && equal(column[order[j]], key)) j++;
    const group = new Array<Value[]>(j - i);
    for (let k = i; k < j; k++) group[k - i] = rows[order[k]];
    keys.push(key);
    vals.push(last ? leafOf(group, col + 1, leafSet) : buildRows(group, col + 1, leafSet));
    i = j;
  }
  return container(mkObjSorted(keys, vals));
}

function leafOf(group: Value[][], col: i32, leafSet: bool): Value {
  if (leafSet) {
    const members = new Array<Value>(group.length);
    for (let i = 0; i < group.length; i++) members[i] = group[i][col];
    return mkSet(members);
  }
  const v = group[0][col];
  for (let i = 1; i < group.length; i++) if (!equal(group[i][col], v)) fail(KEY_CONFLICT);
  return v;
}

class ComprSink extends Sink {
  lit: Lit;
  items: Value[] = [];
  vals: Value[] = [];
  constructor(lit: Lit) {
    super();
    this.lit = lit;
  }
  emit(env: Env): bool {
    const head = this.lit.a;
    if (this.lit.compr != CO_OBJECT) {
      this.items.push(evalTerm(head, env));
    } else {
      this.items.push(evalTerm(head.items[0], env));
      this.vals.push(evalTerm(head.items[1], env));
    }
    return true;
  }
  result(): Value {
    if (this.lit.compr == CO_ARRAY) return mkArr(this.items);
    if (this.lit.compr == CO_SET) return mkSet(this.items);
    const rows = new Array<Value[]>(this.items.length);
    for (let i = 0; i < rows.length; i++) rows[i] = [this.items[i], this.vals[i]];
    const obj = buildRows(rows, 0, false);
    // A comprehension is a value, not a document container.
    obj.b = false;
    return obj;
  }
}

/** Snapshots of the environments a `with` body produced. */
class CollectSink extends Sink {
  envs: Env[] = [];
  emit(env: Env): bool {
    const copy = new StaticArray<Value | null>(env.length);
    for (let i = 0; i < env.length; i++) copy[i] = env[i];
    this.envs.push(copy);
    return true;
  }
}

// ---- Bindings -------------------------------------------------------------

function bind(env: Env, slot: i32, v: Value): void {
  env[slot] = v;
  trail.push(slot);
}

function undo(env: Env, mark: i32): void {
  while (trail.length > mark) env[trail.pop()] = null;
}

// ---- Terms ------------------------------------------------------------------

export function evalTerm(t: Term, env: Env): Value {
  const c = t.val;
  if (c !== null) return c;
  if (t.kind == T_VAR) {
    const v = env[t.slot];
    if (v === null) fail("internal_error: unbound slot " + t.slot.toString());
    return v!;
  }
  const n = t.items.length;
  const items = new Array<Value>(n);
  for (let i = 0; i < n; i++) unchecked(items[i] = evalTerm(unchecked(t.items[i]), env));
  if (t.kind == T_ARR) return mkArr(items);
  if (t.kind == T_SET) return mkSet(items);
  const vals = new Array<Value>(n);
  for (let i = 0; i < n; i++) vals[i] = evalTerm(t.vals[i], env);
  return mkObj(items, vals);
}

function isGround(t: Term, env: Env): bool {
  if (t.val !== null) return true;
  if (t.kind == T_VAR) return env[t.slot] !== null;
  for (let i = 0; i < t.items.length; i++) if (!isGround(t.items[i], env)) return false;
  for (let i = 0; i < t.vals.length; i++) if (!isGround(t.vals[i], env)) return false;
  return true;
}

/** Unifies a term with a value, binding unbound slots of the term. */
function unifyValue(t: Term, v: Value, env: Env): bool {
  const c = t.val;
  if (c !== null) return equal(c, v);
  switch (t.kind) {
    case T_VAR: {
      const cur = env[t.slot];
      if (cur !== null) return equal(cur, v);
      bind(env, t.slot, v);
      return true;
    }
    case T_ARR: {
      if (v.kind != K_ARR || v.items.length != t.items.length) return false;
      for (let i = 0; i < t.items.length; i++) if (!unifyValue(t.items[i], v.items[i], env)) return false;
      return true;
    }
    case T_OBJ: {
      if (v.kind != K_OBJ || v.items.length != t.items.length) return false;
      for (let i = 0; i < t.items.length; i++) {
        if (!isGround(t.items[i], env)) return false;
        const found = objGet(v, evalTerm(t.items[i], env));
        if (found === null || !unifyValue(t.vals[i], found, env)) return false;
      }
      return true;
    }
    default:
      return isGround(t, env) && equal(evalTerm(t, env), v);
  }
}

/** Structural unification of two terms; either side may bind. */
function unify(a: Term, b: Term, env: Env): bool {
  if (isGround(a, env)) return unifyValue(b, evalTerm(a, env), env);
  if (isGround(b, env)) return unifyValue(a, evalTerm(b, env), env);
  if (a.kind == T_ARR && b.kind == T_ARR) {
    if (a.items.length != b.items.length) return false;
    for (let i = 0; i < a.items.length; i++) if (!unify(a.items[i], b.items[i], env)) return false;
    return true;
  }
  if (a.kind == T_OBJ && b.kind == T_OBJ) {
    if (a.items.length != b.items.length) return false;
    for (let i = 0; i < a.items.length; i++) {
      if (!isGround(a.items[i], env)) return false;
      const ka = evalTerm(a.items[i], env);
      let matched = false;
      for (let j = 0; j < b.items.length; j++) {
        if (isGround(b.items[j], env) && equal(evalTerm(b.items[j], env), ka)) {
          if (!unify(a.vals[i], b.vals[j], env)) return false;
          matched = true;
          break;
        }
      }
      if (!matched) return false;
    }
    return true;
  }
  // Two unbound slots, or shapes that cannot match.
  return false;
}

// ---- Bodies -----------------------------------------------------------------

/** Evaluates lits[i..] from env; returns false when the sink stopped the search. */
function evalBody(lits: Lit[], i: i32, env: Env, sink: Sink): bool {
  if (i == lits.length) return sink.emit(env);
  // i counts up from 0 and stops at lits.length (above).
  const lit = unchecked(lits[i]);
  switch (lit.kind) {
    case L_UNIFY: {
      const mark = trail.length;
      let go = true;
      if (unify(lit.a, lit.b, env)) go = evalBody(lits, i + 1, env, sink);
      undo(env, mark);
      return go;
    }
    case L_REF: return evalRef(lit, lits, i, env, sink);
    case L_CALL: {
      const v = callWith(lit.callee, evalArgs(lit.args, env));
      if (v === null) return true;
      if (lit.out < 0) return v.kind == K_BOOL && !v.b ? true : evalBody(lits, i + 1, env, sink);
      return bindAndGo(lit.out, v, lits, i, env, sink);
    }
    case L_TRUTHY: {
      const v = evalTerm(lit.a, env);
      if (v.kind == K_BOOL && !v.b) return true;
      return evalBody(lits, i + 1, env, sink);
    }
    case L_NOT: {
      const any = new AnySink();
      evalBody(lit.body, 0, env, any);
      return any.found ? true : evalBody(lits, i + 1, env, sink);
    }
    case L_SCAN: return evalScan(lit, lits, i, env, sink);
    case L_EVERY: return evalEvery(lit, env) ? evalBody(lits, i + 1, env, sink) : true;
    case L_COMPR: {
      const c = new ComprSink(lit);
      evalBody(lit.body, 0, env, c);
      return bindAndGo(lit.out, c.result(), lits, i, env, sink);
    }
    case L_WITH: return evalWith(lit, lits, i, env, sink);
  }
  fail("internal_error: unknown literal");
  return false;
}

function bindAndGo(slot: i32, v: Value, lits: Lit[], i: i32, env: Env, sink: Sink): bool {
  const mark = trail.length;
  let go = true;
  if (unifySlot(slot, v, env)) go = evalBody(lits, i + 1, env, sink);
  undo(env, mark);
  return go;
}

/** Output slots are fresh, but tolerate a bound one by comparing. */
function unifySlot(slot: i32, v: Value, env: Env): bool {
  const cur = env[slot];
  if (cur !== null) return equal(cur, v);
  bind(env, slot, v);
  return true;
}

function evalArgs(args: Term[], env: Env): Value[] {
  const out = new Array<Value>(args.length);
  for (let i = 0; i < args.length; i++) unchecked(out[i] = evalTerm(unchecked(args[i]), env));
  return out;
}

/** Entries of a collection as (key, value) visits: arrays index/element, objects key/value, sets element/element. */
function entryKey(coll: Value, j: i32): Value {
  return coll.kind == K_ARR ? mkNum(<f64>j) : coll.items[j];
}

function entryVal(coll: Value, j: i32): Value {
  return coll.kind == K_OBJ ? coll.vals[j] : coll.items[j];
}

function evalScan(lit: Lit, lits: Lit[], i: i32, env: Env, sink: Sink): bool {
  const coll = evalTerm(lit.a, env);
  if (coll.kind < K_ARR) return true;
  const key = lit.key;
  for (let j = 0; j < coll.items.length; j++) {
    const mark = trail.length;
    let go = true;
    if ((key === null || unifyValue(key, entryKey(coll, j), env)) && unifyValue(lit.b, entryVal(coll, j), env)) {
      go = evalBody(lits, i + 1, env, sink);
    }
    undo(env, mark);
    if (!go) return false;
  }
  return true;
}

function evalEvery(lit: Lit, env: Env): bool {
  const coll = evalTerm(lit.a, env);
  if (coll.kind < K_ARR) return false;
  for (let j = 0; j < coll.items.length; j++) {
    const mark = trail.length;
    if (lit.keySlot >= 0) unifySlot(lit.keySlot, entryKey(coll, j), env);
    unifySlot(lit.valSlot, entryVal(coll, j), env);
    const any = new AnySink();
    evalBody(lit.body, 0, env, any);
    undo(env, mark);
    if (!any.found) return false;
  }
  return true;
}

// ---- References -------------------------------------------------------------

function evalRef(lit: Lit, lits: Lit[], i: i32, env: Env, sink: Sink): bool {
  switch (lit.head) {
    case H_INPUT: {
      const input = scope.input;
      return input === null ? true : walkValue(input, 0, lit, lits, i, env, sink);
    }
    case H_DATA: return walkNode(plan.tree, scope.data, 0, lit, lits, i, env, sink);
    case H_RULE: {
      const v = groupValue(lit.rule);
      return v === null ? true : walkValue(v, 0, lit, lits, i, env, sink);
    }
  }
  return walkValue(evalTerm(lit.a, env), 0, lit, lits, i, env, sink);
}

function isUnboundSlot(t: Term, env: Env): bool {
  return t.kind == T_VAR && env[t.slot] === null;
}

/** The member of `v` at `key`, or null. */
export function member(v: Value, key: Value): Value | null {
  if (v.kind == K_OBJ) return objGet(v, key);
  if (v.kind == K_ARR) {
    if (key.kind != K_NUM || !isInt(key.n) || key.n < 0 || key.n >= <f64>v.items.length) return null;
    return v.items[<i32>key.n];
  }
  if (v.kind == K_SET) return setHas(v, key) ? key : null;
  return null;
}

/**
 * Walks `v` along lit.path from pi. Inside base documents (`inBase`), which are
 * JSON, a number key also names the string key of its text (data.x[2] is data.x["2"]).
 */
function walkValue(v: Value, pi: i32, lit: Lit, lits: Lit[], i: i32, env: Env, sink: Sink, inBase: bool = false): bool {
  const path = lit.path;
  if (pi == path.length) return bindAndGo(lit.out, v, lits, i, env, sink);
  // pi counts up from 0 and stops at path.length (above).
  const t = unchecked(path[pi]);
  if (isUnboundSlot(t, env)) {
    if (v.kind < K_ARR) return true;
    for (let j = 0; j < v.items.length; j++) {
      const mark = trail.length;
      bind(env, t.slot, entryKey(v, j));
      const go = walkValue(entryVal(v, j), pi + 1, lit, lits, i, env, sink, inBase);
      undo(env, mark);
      if (!go) return false;
    }
    return true;
  }
  let key = evalTerm(t, env);
  if (inBase && key.kind == K_NUM && v.kind == K_OBJ) key = mkStr(numberText(key.n));
  const next = member(v, key);
  return next === null ? true : walkValue(next, pi + 1, lit, lits, i, env, sink, inBase);
}

/** Walks the virtual document: base data merged with the rule tree. */
function walkNode(node: TreeNode, base: Value | null, pi: i32, lit: Lit, lits: Lit[], i: i32, env: Env, sink: Sink): bool {
  const over = overrideAt(node.path);
  if (over !== null) return walkValue(over, pi, lit, lits, i, env, sink);
  const path = lit.path;
  // Whole values: the end of the path, an iteration, a leaf, or a group whose members merge with rules below it.
  if (pi == path.length || isUnboundSlot(path[pi], env) || !node.isObject || node.g >= 0) {
    const v = materialise(node, base);
    return v === null ? true : walkValue(v, pi, lit, lits, i, env, sink);
  }
  const key = evalTerm(path[pi], env);
  if (key.kind == K_STR) {
    const idx = childIndex(node, key.s);
    if (idx >= 0) {
      const child = base !== null && base.kind == K_OBJ ? objGet(base, key) : null;
      return walkNode(node.kids[idx], child, pi + 1, lit, lits, i, env, sink);
    }
  }
  return base === null ? true : walkValue(base, pi, lit, lits, i, env, sink, true);
}

/** Index of the child named `name` (names are sorted), or -1. */
function childIndex(node: TreeNode, name: string): i32 {
  const names = node.names;
  let lo = 0, hi = names.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareStrings(unchecked(names[mid]), name);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

/** The full value of a tree node; null when undefined. Functions have no value. */
function materialise(node: TreeNode, base: Value | null): Value | null {
  const over = overrideAt(node.path);
  if (over !== null) return over;
  if (node.g >= 0 && plan.groups[node.g].isFunc) return null;
  if (!node.isObject) {
    // Base data wins over a rule at the same path (as OPA's storage does).
    return base !== null || node.g < 0 ? base : groupValue(node.g);
  }
  const obj = container(base !== null && base.kind == K_OBJ ? objCopy(base) : mkEmptyObj());
  for (let j = 0; j < node.names.length; j++) {
    const name = mkStr(node.names[j]);
    const sub = base !== null && base.kind == K_OBJ ? objGet(base, name) : null;
    const v = materialise(node.kids[j], sub);
    if (v !== null) objPut(obj, name, v);
  }
  if (node.g < 0) return obj;
  const own = groupValue(node.g);
  return own === null ? obj : merge(obj, own);
}

function container(v: Value): Value {
  v.b = true;
  return v;
}

/**
 * Documents of different rules at one path: containers merge member by
 * member, sets unite, anything else must be equal (a rule's object value
 * cannot be extended by another rule).
 */
function merge(a: Value, b: Value): Value {
  if (equal(a, b)) return a;
  if (a.kind == K_OBJ && b.kind == K_OBJ && a.b && b.b) {
    const out = container(objCopy(a));
    for (let j = 0; j < b.items.length; j++) {
      const existing = objGet(out, b.items[j]);
      objPut(out, b.items[j], existing === null ? b.vals[j] : merge(existing, b.vals[j]));
    }
    return out;
  }
  if (a.kind == K_SET && b.kind == K_SET) return mkSet(a.items.concat(b.items));
  fail(KEY_CONFLICT);
  return a;
}

// ---- Rules and functions ----------------------------------------------------

function enter(): void {
  if (++depth > MAX_DEPTH) fail("internal_error: evaluation too deep");
}

/** The value of a rule group, computed once per scope; null when undefined. */
export function groupValue(g: i32): Value | null {
  const st = scope.cacheState[g];
  if (st == ST_DONE) return scope.cacheVal[g];
  if (st == ST_BUSY) fail("rego_recursion_error: rule " + plan.groups[g].path.join(".") + " is recursive");
  scope.cacheState[g] = ST_BUSY;
  const v = scope.dataOverrides.length > 0 ? overriddenGroup(g) : computeGroup(g);
  scope.cacheVal[g] = v;
  scope.cacheState[g] = ST_DONE;
  return v;
}

function computeGroup(g: i32): Value | null {
  const group = plan.groups[g];
  if (group.isFunc) return null;
  enter();
  let result: Value | null = null;
  if (group.keys == 0 && !group.leafSet) {
    result = completeValue(group, null);
  } else if (group.keys == 0) {
    const members = new Array<Value>(0);
    for (let d = 0; d < group.defs.length; d++) {
      const def = unchecked(group.defs[d]);
      evalBody(def.body, 0, new StaticArray<Value | null>(def.nslots), new MemberSink(def.value, members));
    }
    result = mkSet(members);
  } else {
    const rows = new Array<Value[]>(0);
    for (let d = 0; d < group.defs.length; d++) {
      const def = unchecked(group.defs[d]);
      evalBody(def.body, 0, new StaticArray<Value | null>(def.nslots), new RowSink(def, rows));
    }
    result = rows.length == 0 ? container(mkEmptyObj()) : buildRows(rows, 0, group.leafSet);
  }
  depth--;
  return result;
}

/**
 * Complete rules and functions: each definition yields the value of its body
 * or of its first else branch with a solution; definitions must agree.
 * `args` binds function parameters.
 */
function completeValue(group: Group, args: Value[] | null): Value | null {
  let result: Value | null = null;
  for (let d = 0; d < group.defs.length; d++) {
    const def = unchecked(group.defs[d]);
    const env = new StaticArray<Value | null>(def.nslots);
    const mark = trail.length;
    if (args !== null && !bindParams(def, args, env)) {
      undo(env, mark);
      continue;
    }
    let sink = new ValueSink(def.value, group.isFunc);
    evalBody(def.body, 0, env, sink);
    for (let e = 0; sink.result === null && e < def.elses.length; e++) {
      sink = new ValueSink(def.elses[e].value, group.isFunc);
      evalBody(def.elses[e].body, 0, env, sink);
    }
    undo(env, mark);
    const v = sink.result;
    if (v === null) continue;
    if (result === null) result = v;
    else if (!equal(result, v)) conflict(group.isFunc);
  }
  if (result === null && group.dflt !== null) result = evalTerm(group.dflt!, new StaticArray<Value | null>(0));
  return result;
}

function bindParams(def: Def, args: Value[], env: Env): bool {
  if (def.params.length != args.length) return false;
  for (let p = 0; p < args.length; p++) if (!unifyValue(def.params[p], args[p], env)) return false;
  return true;
}

function callFunc(g: i32, args: Value[]): Value | null {
  enter();
  const v = completeValue(plan.groups[g], args);
  depth--;
  return v;
}

function sameCallee(a: Callee, b: Callee): bool {
  return a.kind == b.kind && a.id == b.id;
}

/** Calls a callee, honouring function replacements made by `with`. */
function callWith(c: Callee, args: Value[]): Value | null {
  const overrides = scope.fnOverrides;
  for (let j = overrides.length - 1; j >= 0; j--) {
    const o = overrides[j];
    if (!sameCallee(o.fn, c)) continue;
    if (o.val !== null) return o.val;
    return callReplacement(o.repl!, args);
  }
  return callDirect(c, args);
}

/**
 * A replacement function runs without any function replacements in force (as
 * in OPA): a mock may call the original, and one mock never calls another.
 */
function callReplacement(c: Callee, args: Value[]): Value | null {
  if (c.kind != C_FUNC) return callDirect(c, args);
  const outer = scope;
  const inner = freshScope(outer.input, outer.data);
  inner.dataOverrides = outer.dataOverrides;
  scope = inner;
  const v = callDirect(c, args);
  scope = outer;
  return v;
}

function callDirect(c: Callee, args: Value[]): Value | null {
  if (c.kind == C_NATIVE) return callNative(c.id, args);
  if (c.kind == C_FUNC) return callFunc(c.id, args);
  return callHost(c.id, args);
}

/** Host built-ins: one string argument holding the value text of the argument array (see builtins/wire.ts). */
function callHost(id: i32, args: Value[]): Value | null {
  if (id == globHostId) {
    const matched = globMatchSimple(args);
    if (matched !== null) return matched;
  } else if (id == regexHostId) {
    const matched = regexMatchNative(args);
    if (matched !== null) return matched;
  }
  const arg = mkStr(dumpString(mkArr(args), true));
  const ret = opa_builtin1(id, 0, changetype<usize>(arg));
  if (ret == 0) return null;
  const text = changetype<Value>(ret);
  if (text.kind != K_STR) fail("internal_error: host built-in " + plan.hostBuiltins[id] + " returned a non-string");
  if (text.s.length == 0) return null;
  const v = parseString(text.s, true);
  if (v === null) fail("internal_error: host built-in " + plan.hostBuiltins[id] + " returned malformed value text");
  return v;
}

// ---- with -------------------------------------------------------------------

function pathEquals(a: string[], b: string[]): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
  return true;
}

/** True when `a` is a prefix of `b` (or equal). */
function pathPrefix(a: string[], b: string[]): bool {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
  return true;
}

function overrideAt(path: string[]): Value | null {
  const list = scope.dataOverrides;
  for (let j = list.length - 1; j >= 0; j--) if (pathEquals(list[j].path, path)) return list[j].val;
  return null;
}

/** A group under `with data...`: replaced by an enclosing override, or patched by deeper ones. */
function overriddenGroup(g: i32): Value | null {
  const gpath = plan.groups[g].path;
  const list = scope.dataOverrides;
  for (let j = list.length - 1; j >= 0; j--) {
    const o = list[j];
    if (!pathPrefix(o.path, gpath)) continue;
    let v: Value | null = o.val;
    for (let k = o.path.length; v !== null && k < gpath.length; k++) v = member(v, mkStr(gpath[k]));
    return v;
  }
  let v = computeGroup(g);
  for (let j = 0; j < list.length; j++) {
    const o = list[j];
    if (pathPrefix(gpath, o.path)) v = setPath(v, o.path, gpath.length, o.val);
  }
  return v;
}

/** A copy of `root` with `val` at path[from..], creating objects on the way. */
function setPath(root: Value | null, path: string[], from: i32, val: Value): Value {
  if (from == path.length) return val;
  const obj = root !== null && root.kind == K_OBJ ? objCopy(root) : mkEmptyObj();
  const key = mkStr(path[from]);
  objPut(obj, key, setPath(objGet(obj, key), path, from + 1, val));
  return obj;
}

function evalWith(lit: Lit, lits: Lit[], i: i32, env: Env, sink: Sink): bool {
  const outer = scope;
  const inner = freshScope(outer.input, outer.data);
  inner.dataOverrides = outer.dataOverrides.slice(0);
  inner.fnOverrides = outer.fnOverrides.slice(0);
  for (let j = 0; j < lit.targets.length; j++) applyTarget(inner, lit.targets[j], env);
  scope = inner;
  const collected = new CollectSink();
  evalBody(lit.body, 0, env, collected);
  scope = outer;
  for (let j = 0; j < collected.envs.length; j++) {
    const snap = collected.envs[j];
    const mark = trail.length;
    for (let s = 0; s < snap.length; s++) {
      const v = snap[s];
      if (v !== null && env[s] === null) bind(env, s, v);
    }
    const go = evalBody(lits, i + 1, env, sink);
    undo(env, mark);
    if (!go) return false;
  }
  return true;
}

function applyTarget(s: Scope, w: WithTarget, env: Env): void {
  switch (w.kind) {
    case W_INPUT: {
      s.input = setPath(s.input, w.path, 0, evalTerm(w.term, env));
      return;
    }
    case W_DATA: {
      const v = evalTerm(w.term, env);
      s.data = setPath(s.data, w.path, 0, v);
      s.dataOverrides.push(new DataOverride(w.path, v));
      return;
    }
    case W_FN: {
      s.fnOverrides.push(new FnOverride(w.fn, w.repl, null));
      return;
    }
    case W_FNVAL: {
      s.fnOverrides.push(new FnOverride(w.fn, null, evalTerm(w.term, env)));
      return;
    }
  }
}

// ---- Entry --------------------------------------------------------------------

/** Evaluates entrypoint `ep`; null when undefined. */
export function evalEntrypoint(ep: i32, input: Value | null, data: Value): Value | null {
  if (ep < 0 || ep >= plan.entrypoints.length) fail("internal_error: invalid entrypoint id " + ep.toString());
  scope = freshScope(input, data);
  trail = [];
  depth = 0;
  const env = new StaticArray<Value | null>(1);
  const sink = new SlotSink(0);
  evalBody([plan.entrypoints[ep].lit], 0, env, sink);
  return sink.result;
}
