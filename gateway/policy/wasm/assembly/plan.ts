// The plan (see gateway/policy/compiler/ir.ts), decoded from its JSON into
// typed structures once, when the module is instantiated.
import { Value, K_NULL, K_NUM, K_STR, K_ARR, K_OBJ, mkArr, mkObj, mkSet, mkStr, objGetStr } from "./value";
import { fail } from "./abort";
import { nativeId } from "./natives";

export const T_CONST: u8 = 0;
export const T_VAR: u8 = 1;
export const T_ARR: u8 = 2;
export const T_OBJ: u8 = 3;
export const T_SET: u8 = 4;

export class Term {
  kind: u8 = T_CONST;
  slot: i32 = -1;
  /** The value when the term has no slots (constants and constant composites). */
  val: Value | null = null;
  /** Array/set elements or object keys. */
  items: Term[] = [];
  /** Object values. */
  vals: Term[] = [];
}

export const C_NATIVE: u8 = 0;
export const C_HOST: u8 = 1;
export const C_FUNC: u8 = 2;

export class Callee {
  kind: u8 = C_NATIVE;
  /** Native id, host built-in id or group index. */
  id: i32 = 0;
}

export const H_INPUT: u8 = 0;
export const H_DATA: u8 = 1;
export const H_RULE: u8 = 2;
export const H_TERM: u8 = 3;

export const L_UNIFY: u8 = 0;
export const L_REF: u8 = 1;
export const L_CALL: u8 = 2;
export const L_TRUTHY: u8 = 3;
export const L_NOT: u8 = 4;
export const L_SCAN: u8 = 5;
export const L_EVERY: u8 = 6;
export const L_COMPR: u8 = 7;
export const L_WITH: u8 = 8;

export const CO_ARRAY: u8 = 0;
export const CO_SET: u8 = 1;
export const CO_OBJECT: u8 = 2;

const NO_TERM: Term = new Term();

export class Lit {
  kind: u8 = L_UNIFY;
  /** unify: left; truthy: term; scan/every: collection; compr: head; ref: head term. */
  a: Term = NO_TERM;
  /** unify: right; scan: value. */
  b: Term = NO_TERM;
  /** scan: key term, when present. */
  key: Term | null = null;
  head: u8 = H_INPUT;
  rule: i32 = -1;
  path: Term[] = [];
  out: i32 = -1;
  callee: Callee = new Callee();
  args: Term[] = [];
  body: Lit[] = [];
  compr: u8 = CO_ARRAY;
  keySlot: i32 = -1;
  valSlot: i32 = -1;
  targets: WithTarget[] = [];
}

export const W_INPUT: u8 = 0;
export const W_DATA: u8 = 1;
export const W_FN: u8 = 2;
export const W_FNVAL: u8 = 3;

export class WithTarget {
  kind: u8 = W_INPUT;
  path: string[] = [];
  term: Term = NO_TERM;
  fn: Callee = new Callee();
  repl: Callee = new Callee();
}

export class Branch {
  value: Term = NO_TERM;
  body: Lit[] = [];
}

export class Def {
  nslots: i32 = 0;
  params: Term[] = [];
  keys: Term[] = [];
  value: Term = NO_TERM;
  body: Lit[] = [];
  elses: Branch[] = [];
}

export class Group {
  path: string[] = [];
  isFunc: bool = false;
  keys: i32 = 0;
  leafSet: bool = false;
  dflt: Term | null = null;
  defs: Def[] = [];
}

export class TreeNode {
  path: string[] = [];
  g: i32 = -1;
  /** A package or an inner node: its value is an object even without members. */
  isObject: bool = false;
  /** Children names (sorted) and nodes, parallel arrays. */
  names: string[] = [];
  kids: TreeNode[] = [];
}

export class Entrypoint {
  name: string = "";
  /** A ['ref', ['data'], path, 0] literal over one slot, evaluated for the result. */
  lit: Lit = new Lit();
}

export class Plan {
  groups: Group[] = [];
  tree: TreeNode = new TreeNode();
  entrypoints: Entrypoint[] = [];
  hostBuiltins: string[] = [];
}

function bad(what: string): void {
  fail("internal_error: malformed plan: " + what);
}

function field(v: Value, name: string): Value {
  if (v.kind != K_OBJ) bad("expected an object for " + name);
  const f = objGetStr(v, name);
  if (f === null) bad("missing " + name);
  return f!;
}

function optField(v: Value, name: string): Value | null {
  return objGetStr(v, name);
}

function arr(v: Value, what: string): Value[] {
  if (v.kind != K_ARR) bad(what + " must be an array");
  return v.items;
}

function int(v: Value, what: string): i32 {
  if (v.kind != K_NUM) bad(what + " must be a number");
  return <i32>v.n;
}

function str(v: Value, what: string): string {
  if (v.kind != K_STR) bad(what + " must be a string");
  return v.s;
}

function strings(v: Value, what: string): string[] {
  const items = arr(v, what);
  const out = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = str(items[i], what);
  return out;
}

function tag(v: Value, what: string): string {
  const items = arr(v, what);
  if (items.length == 0) bad(what + " is empty");
  return str(items[0], what + " tag");
}

/** Element i of a tuple, checked. */
function at(v: Value, i: i32, what: string): Value {
  const items = arr(v, what);
  if (i >= items.length) bad(what + " is too short");
  return items[i];
}

export function decodeTerm(v: Value): Term {
  const t = new Term();
  const k = tag(v, "term");
  if (k == "c") {
    const c = at(v, 1, "constant");
    if (c.kind > K_STR) bad("constant must be a scalar");
    t.kind = T_CONST;
    t.val = c;
  } else if (k == "v") {
    t.kind = T_VAR;
    t.slot = int(at(v, 1, "slot"), "slot");
    if (t.slot < 0) bad("negative slot");
  } else if (k == "arr" || k == "set") {
    t.kind = k == "arr" ? T_ARR : T_SET;
    t.items = decodeTerms(at(v, 1, k));
  } else if (k == "obj") {
    t.kind = T_OBJ;
    const pairs = arr(at(v, 1, "obj"), "obj pairs");
    for (let i = 0; i < pairs.length; i++) {
      t.items.push(decodeTerm(at(pairs[i], 0, "obj key")));
      t.vals.push(decodeTerm(at(pairs[i], 1, "obj value")));
    }
  } else {
    bad("unknown term " + k);
  }
  precompute(t);
  return t;
}

/** Constant composites are built once here instead of on every evaluation. */
function precompute(t: Term): void {
  if (t.kind == T_CONST || t.kind == T_VAR) return;
  const n = t.items.length;
  for (let i = 0; i < n; i++) {
    if (t.items[i].val === null) return;
    if (t.kind == T_OBJ && t.vals[i].val === null) return;
  }
  const items = new Array<Value>(n);
  for (let i = 0; i < n; i++) items[i] = t.items[i].val!;
  if (t.kind == T_ARR) t.val = mkArr(items);
  else if (t.kind == T_SET) t.val = mkSet(items);
  else {
    const vals = new Array<Value>(n);
    for (let i = 0; i < n; i++) vals[i] = t.vals[i].val!;
    t.val = mkObj(items, vals);
  }
}

function decodeTerms(v: Value): Term[] {
  const items = arr(v, "terms");
  const out = new Array<Term>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = decodeTerm(items[i]);
  return out;
}

function decodeCallee(v: Value): Callee {
  const c = new Callee();
  const k = tag(v, "callee");
  if (k == "native") {
    c.kind = C_NATIVE;
    const name = str(at(v, 1, "native"), "native name");
    c.id = nativeId(name);
    if (c.id < 0) bad("unknown native built-in " + name);
  } else if (k == "host") {
    c.kind = C_HOST;
    c.id = int(at(v, 1, "host"), "host id");
  } else if (k == "func") {
    c.kind = C_FUNC;
    c.id = int(at(v, 1, "func"), "func index");
  } else {
    bad("unknown callee " + k);
  }
  return c;
}

export function decodeBody(v: Value): Lit[] {
  const items = arr(v, "body");
  const out = new Array<Lit>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = decodeLit(items[i]);
  return out;
}

function decodeLit(v: Value): Lit {
  const l = new Lit();
  const k = tag(v, "literal");
  if (k == "unify") {
    l.kind = L_UNIFY;
    l.a = decodeTerm(at(v, 1, k));
    l.b = decodeTerm(at(v, 2, k));
  } else if (k == "ref") {
    l.kind = L_REF;
    const h = at(v, 1, "ref head");
    const hk = tag(h, "ref head");
    if (hk == "input") l.head = H_INPUT;
    else if (hk == "data") l.head = H_DATA;
    else if (hk == "rule") { l.head = H_RULE; l.rule = int(at(h, 1, "rule"), "rule"); }
    else if (hk == "t") { l.head = H_TERM; l.a = decodeTerm(at(h, 1, "head term")); }
    else bad("unknown ref head " + hk);
    l.path = decodeTerms(at(v, 2, k));
    l.out = int(at(v, 3, k), "out");
  } else if (k == "call") {
    l.kind = L_CALL;
    l.callee = decodeCallee(at(v, 1, k));
    l.args = decodeTerms(at(v, 2, k));
    l.out = int(at(v, 3, k), "out");
  } else if (k == "truthy") {
    l.kind = L_TRUTHY;
    l.a = decodeTerm(at(v, 1, k));
  } else if (k == "not") {
    l.kind = L_NOT;
    l.body = decodeBody(at(v, 1, k));
  } else if (k == "scan") {
    l.kind = L_SCAN;
    l.a = decodeTerm(at(v, 1, k));
    const key = at(v, 2, k);
    if (key.kind != K_NULL) l.key = decodeTerm(key);
    l.b = decodeTerm(at(v, 3, k));
  } else if (k == "every") {
    l.kind = L_EVERY;
    l.a = decodeTerm(at(v, 1, k));
    l.keySlot = int(at(v, 2, k), "every key");
    l.valSlot = int(at(v, 3, k), "every value");
    l.body = decodeBody(at(v, 4, k));
  } else if (k == "compr") {
    l.kind = L_COMPR;
    const ck = str(at(v, 1, k), "comprehension kind");
    if (ck == "array") l.compr = CO_ARRAY;
    else if (ck == "set") l.compr = CO_SET;
    else if (ck == "object") l.compr = CO_OBJECT;
    else bad("unknown comprehension " + ck);
    l.a = decodeTerm(at(v, 2, k));
    if (l.compr == CO_OBJECT && (l.a.kind != T_ARR || l.a.items.length != 2)) bad("object comprehension head");
    l.body = decodeBody(at(v, 3, k));
    l.out = int(at(v, 4, k), "out");
  } else if (k == "with") {
    l.kind = L_WITH;
    const ts = arr(at(v, 1, k), "with targets");
    for (let i = 0; i < ts.length; i++) l.targets.push(decodeTarget(ts[i]));
    l.body = decodeBody(at(v, 2, k));
  } else {
    bad("unknown literal " + k);
  }
  return l;
}

function decodeTarget(v: Value): WithTarget {
  const w = new WithTarget();
  const k = tag(v, "with target");
  if (k == "input" || k == "data") {
    w.kind = k == "input" ? W_INPUT : W_DATA;
    w.path = strings(at(v, 1, k), "with path");
    w.term = decodeTerm(at(v, 2, k));
  } else if (k == "fn") {
    w.kind = W_FN;
    w.fn = decodeCallee(at(v, 1, k));
    w.repl = decodeCallee(at(v, 2, k));
  } else if (k == "fnval") {
    w.kind = W_FNVAL;
    w.fn = decodeCallee(at(v, 1, k));
    w.term = decodeTerm(at(v, 2, k));
  } else {
    bad("unknown with target " + k);
  }
  return w;
}

function decodeDef(v: Value): Def {
  const d = new Def();
  d.nslots = int(field(v, "nslots"), "nslots");
  if (d.nslots < 0) bad("negative nslots");
  const params = optField(v, "params");
  if (params !== null) d.params = decodeTerms(params);
  d.keys = decodeTerms(field(v, "keys"));
  d.value = decodeTerm(field(v, "value"));
  d.body = decodeBody(field(v, "body"));
  const elses = arr(field(v, "elses"), "elses");
  for (let i = 0; i < elses.length; i++) {
    const b = new Branch();
    b.value = decodeTerm(field(elses[i], "value"));
    b.body = decodeBody(field(elses[i], "body"));
    d.elses.push(b);
  }
  return d;
}

function decodeGroup(v: Value): Group {
  const g = new Group();
  g.path = strings(field(v, "path"), "group path");
  const kind = str(field(v, "kind"), "group kind");
  if (kind != "rule" && kind != "function") bad("unknown group kind " + kind);
  g.isFunc = kind == "function";
  g.keys = int(field(v, "keys"), "group keys");
  if (g.keys < 0) bad("negative group keys");
  const leaf = str(field(v, "leaf"), "group leaf");
  if (leaf != "value" && leaf != "set") bad("unknown group leaf " + leaf);
  g.leafSet = leaf == "set";
  const dflt = optField(v, "default");
  if (dflt !== null) g.dflt = decodeTerm(dflt);
  const defs = arr(field(v, "defs"), "defs");
  for (let i = 0; i < defs.length; i++) {
    const d = decodeDef(defs[i]);
    if (d.keys.length != g.keys) bad("def keys do not match group keys");
    g.defs.push(d);
  }
  return g;
}

function decodeNode(v: Value, path: string[], ngroups: i32): TreeNode {
  const n = new TreeNode();
  n.path = path;
  const g = optField(v, "g");
  if (g !== null) {
    n.g = int(g, "tree group");
    if (n.g < 0 || n.g >= ngroups) bad("tree group out of range");
  }
  const c = optField(v, "c");
  if (c !== null) {
    if (c.kind != K_OBJ) bad("tree children must be an object");
    n.isObject = true;
    for (let i = 0; i < c.items.length; i++) {
      const name = str(c.items[i], "tree name");
      const childPath = path.slice(0);
      childPath.push(name);
      n.names.push(name);
      n.kids.push(decodeNode(c.vals[i], childPath, ngroups));
    }
  }
  return n;
}

export function decodePlan(v: Value): Plan {
  const p = new Plan();
  if (int(field(v, "version"), "version") != 1) bad("unsupported version");
  const groups = arr(field(v, "groups"), "groups");
  for (let i = 0; i < groups.length; i++) p.groups.push(decodeGroup(groups[i]));
  p.tree = decodeNode(field(v, "tree"), [], groups.length);
  p.hostBuiltins = strings(field(v, "hostBuiltins"), "hostBuiltins");
  const eps = arr(field(v, "entrypoints"), "entrypoints");
  for (let i = 0; i < eps.length; i++) {
    const e = new Entrypoint();
    e.name = str(field(eps[i], "name"), "entrypoint name");
    const path = strings(field(eps[i], "path"), "entrypoint path");
    e.lit.kind = L_REF;
    e.lit.head = H_DATA;
    e.lit.out = 0;
    for (let j = 0; j < path.length; j++) {
      const t = new Term();
      t.val = mkStr(path[j]);
      e.lit.path.push(t);
    }
    p.entrypoints.push(e);
  }
  checkIndices(p);
  return p;
}

/** Calls `visit` on every literal of the plan's rule bodies, nested bodies included. */
export function visitLits(p: Plan, visit: (p: Plan, l: Lit) => void): void {
  for (let i = 0; i < p.groups.length; i++) {
    const g = p.groups[i];
    for (let j = 0; j < g.defs.length; j++) {
      const d = g.defs[j];
      visitBody(p, d.body, visit);
      for (let k = 0; k < d.elses.length; k++) visitBody(p, d.elses[k].body, visit);
    }
  }
}

function visitBody(p: Plan, body: Lit[], visit: (p: Plan, l: Lit) => void): void {
  for (let i = 0; i < body.length; i++) {
    visit(p, body[i]);
    visitBody(p, body[i].body, visit);
  }
}

/** Rejects references to groups or host built-ins that do not exist. */
function checkIndices(p: Plan): void {
  visitLits(p, checkLit);
}

function checkCallee(p: Plan, c: Callee): void {
  if (c.kind == C_HOST && (c.id < 0 || c.id >= p.hostBuiltins.length)) bad("host built-in id out of range");
  if (c.kind == C_FUNC && (c.id < 0 || c.id >= p.groups.length || !p.groups[c.id].isFunc)) bad("function index out of range");
}

function checkLit(p: Plan, l: Lit): void {
  if (l.kind == L_REF && l.head == H_RULE && (l.rule < 0 || l.rule >= p.groups.length)) bad("rule index out of range");
  if (l.kind == L_CALL) checkCallee(p, l.callee);
  for (let j = 0; j < l.targets.length; j++) {
    const w = l.targets[j];
    if (w.kind == W_FN || w.kind == W_FNVAL) checkCallee(p, w.fn);
    if (w.kind == W_FN) checkCallee(p, w.repl);
  }
}
