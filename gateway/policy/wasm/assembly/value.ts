// Rego values and OPA's total order over them.
//
// One class for every kind keeps dispatch a switch on `kind` instead of casts.
// Objects keep their keys sorted (with values in a parallel array) and sets
// their elements sorted, so iteration follows OPA's order and lookups are
// binary searches.

export const K_NULL: u8 = 0;
export const K_BOOL: u8 = 1;
export const K_NUM: u8 = 2;
export const K_STR: u8 = 3;
export const K_ARR: u8 = 4;
export const K_OBJ: u8 = 5;
export const K_SET: u8 = 6;

const NO_ITEMS: Value[] = [];

export class Value {
  kind: u8 = K_NULL;
  /**
   * Booleans: the value. Objects: true for a document container (a package, or
   * the object built by rules with keys) into which other rules may merge
   * members; a rule's own object value is not one.
   */
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  /** Array elements, set elements (sorted) or object keys (sorted). */
  items: Value[] = NO_ITEMS;
  /** Object values, parallel to `items`. */
  vals: Value[] = NO_ITEMS;
}

export const NULL: Value = new Value();
export const TRUE: Value = mkBoolRaw(true);
export const FALSE: Value = mkBoolRaw(false);

function mkBoolRaw(b: bool): Value {
  const v = new Value();
  v.kind = K_BOOL;
  v.b = b;
  return v;
}

export function mkBool(b: bool): Value {
  return b ? TRUE : FALSE;
}

export function mkNum(n: f64): Value {
  const v = new Value();
  v.kind = K_NUM;
  v.n = n;
  return v;
}

export function mkStr(s: string): Value {
  const v = new Value();
  v.kind = K_STR;
  v.s = s;
  return v;
}

export function mkArr(items: Value[]): Value {
  const v = new Value();
  v.kind = K_ARR;
  v.items = items;
  return v;
}

/** A set from elements in any order, possibly with duplicates (the array is reused). */
export function mkSet(items: Value[]): Value {
  const v = new Value();
  v.kind = K_SET;
  v.items = sortedUnique(items);
  return v;
}

/** An object from keys already sorted and unique. */
export function mkObjSorted(keys: Value[], vals: Value[]): Value {
  const v = new Value();
  v.kind = K_OBJ;
  v.items = keys;
  v.vals = vals;
  return v;
}

export function mkEmptyObj(): Value {
  return mkObjSorted([], []);
}

/** An object from pairs in any order (the arrays are reused); a later duplicate key replaces an earlier one. */
export function mkObj(keys: Value[], vals: Value[]): Value {
  const n = keys.length;
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if (compare(keys[i - 1], keys[i]) >= 0) { sorted = false; break; }
  }
  if (sorted) return mkObjSorted(keys, vals);
  if (n <= SMALL) return mkObjSmall(keys, vals);
  const order = sortedOrder(keys);
  const ks = new Array<Value>(0);
  const vs = new Array<Value>(0);
  for (let i = 0; i < n; i++) {
    const j = order[i];
    const k = keys[j];
    const last = ks.length - 1;
    if (last >= 0 && compare(ks[last], k) == 0) {
      vs[last] = vals[j];
    } else {
      ks.push(k);
      vs.push(vals[j]);
    }
  }
  return mkObjSorted(ks, vs);
}

/** Objects up to this size are sorted in place by insertion, without allocating. */
const SMALL: i32 = 16;

function mkObjSmall(keys: Value[], vals: Value[]): Value {
  let n = keys.length;
  // Stable insertion sort of the pairs.
  for (let i = 1; i < n; i++) {
    const k = keys[i];
    const v = vals[i];
    let j = i - 1;
    while (j >= 0 && compare(keys[j], k) > 0) {
      keys[j + 1] = keys[j];
      vals[j + 1] = vals[j];
      j--;
    }
    keys[j + 1] = k;
    vals[j + 1] = v;
  }
  // Equal keys are adjacent, in input order: keep the last value of each.
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (w > 0 && compare(keys[w - 1], keys[i]) == 0) {
      vals[w - 1] = vals[i];
    } else {
      keys[w] = keys[i];
      vals[w] = vals[i];
      w++;
    }
  }
  keys.length = w;
  vals.length = w;
  return mkObjSorted(keys, vals);
}

/** Indices of `keys` in OPA order; stable, so equal keys keep their relative order. */
export function sortedOrder(keys: Value[]): i32[] {
  const n = keys.length;
  const order = new Array<i32>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const tmp = new Array<i32>(n);
  for (let width = 1; width < n; width <<= 1) {
    for (let lo = 0; lo < n - width; lo += width << 1) {
      const mid = lo + width;
      const hi = min(lo + (width << 1), n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (compare(keys[order[j]], keys[order[i]]) < 0) tmp[k++] = order[j++];
        else tmp[k++] = order[i++];
      }
      while (i < mid) tmp[k++] = order[i++];
      while (j < hi) tmp[k++] = order[j++];
      for (let x = lo; x < hi; x++) order[x] = tmp[x];
    }
  }
  return order;
}

function sortValues(a: Value[]): void {
  const n = a.length;
  if (n <= SMALL) {
    for (let i = 1; i < n; i++) {
      const v = a[i];
      let j = i - 1;
      while (j >= 0 && compare(a[j], v) > 0) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = v;
    }
    return;
  }
  const tmp = new Array<Value>(n);
  for (let width = 1; width < n; width <<= 1) {
    for (let lo = 0; lo < n - width; lo += width << 1) {
      const mid = lo + width;
      const hi = min(lo + (width << 1), n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (compare(a[j], a[i]) < 0) tmp[k++] = a[j++];
        else tmp[k++] = a[i++];
      }
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
      for (let x = lo; x < hi; x++) a[x] = tmp[x];
    }
  }
}

function sortedUnique(items: Value[]): Value[] {
  const n = items.length;
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if (compare(items[i - 1], items[i]) >= 0) { sorted = false; break; }
  }
  if (sorted) return items;
  sortValues(items);
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (w == 0 || compare(items[w - 1], items[i]) != 0) items[w++] = items[i];
  }
  items.length = w;
  return items;
}

export function compareStrings(a: string, b: string): i32 {
  if (a == b) return 0;
  const n = min(a.length, b.length);
  // i < n, the shorter length: the code units are read without a range check.
  const pa = changetype<usize>(a);
  const pb = changetype<usize>(b);
  for (let i = 0; i < n; i++) {
    const x = <i32>load<u16>(pa + (<usize>i << 1));
    const y = <i32>load<u16>(pb + (<usize>i << 1));
    if (x != y) return codePointOrder(x) < codePointOrder(y) ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Ranks a UTF-16 code unit so that comparing ranks orders strings by code
 * point, as OPA (Go, UTF-8 bytes) does: surrogates, which encode code points
 * above U+FFFF, rank above U+E000..U+FFFF.
 */
// @ts-ignore: decorator
@inline function codePointOrder(u: i32): i32 {
  if (u < 0xd800) return u;
  return u < 0xe000 ? u + 0x2000 : u - 0x800;
}

function compareLists(a: Value[], b: Value[]): i32 {
  const n = min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compare(unchecked(a[i]), unchecked(b[i]));
    if (c != 0) return c;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** OPA's total order: null < boolean < number < string < array < object < set. */
export function compare(a: Value, b: Value): i32 {
  if (a === b) return 0;
  if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
  switch (a.kind) {
    case K_NULL: return 0;
    case K_BOOL: return a.b == b.b ? 0 : (a.b ? 1 : -1);
    case K_NUM: return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
    case K_STR: return compareStrings(a.s, b.s);
    case K_ARR: return compareLists(a.items, b.items);
    case K_SET: return compareLists(a.items, b.items);
    default: {
      // Objects: pairwise by sorted key, then value; the shorter prefix first.
      const n = min(a.items.length, b.items.length);
      for (let i = 0; i < n; i++) {
        let c = compare(unchecked(a.items[i]), unchecked(b.items[i]));
        if (c != 0) return c;
        c = compare(a.vals[i], b.vals[i]);
        if (c != 0) return c;
      }
      return a.items.length < b.items.length ? -1 : a.items.length > b.items.length ? 1 : 0;
    }
  }
}

export function equal(a: Value, b: Value): bool {
  return compare(a, b) == 0;
}

/** Index of `key` in sorted `items`, or -(insertion point) - 1. */
export function search(items: Value[], key: Value): i32 {
  let lo = 0, hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compare(unchecked(items[mid]), key);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -lo - 1;
}

/** Object member by key; null when absent. */
export function objGet(obj: Value, key: Value): Value | null {
  const i = search(obj.items, key);
  return i >= 0 ? obj.vals[i] : null;
}

export function objGetStr(obj: Value, key: string): Value | null {
  let lo = 0, hi = obj.items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = unchecked(obj.items[mid]);
    const c = k.kind == K_STR ? compareStrings(k.s, key) : (k.kind < K_STR ? -1 : 1);
    if (c == 0) return obj.vals[mid];
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return null;
}

/** Inserts or replaces a member in place (objects built during evaluation). */
export function objPut(obj: Value, key: Value, val: Value): void {
  const i = search(obj.items, key);
  if (i >= 0) { obj.vals[i] = val; return; }
  const at = -i - 1;
  insertAt(obj.items, at, key);
  insertAt(obj.vals, at, val);
}

export function setHas(set: Value, elem: Value): bool {
  return search(set.items, elem) >= 0;
}

function insertAt(a: Value[], at: i32, v: Value): void {
  a.push(v);
  for (let j = a.length - 1; j > at; j--) a[j] = a[j - 1];
  a[at] = v;
}

/** A shallow copy of an object, so in-place puts do not alter the original. */
export function objCopy(obj: Value): Value {
  return mkObjSorted(obj.items.slice(0), obj.vals.slice(0));
}

export function isCollection(v: Value): bool {
  return v.kind >= K_ARR;
}

/** Rego's notion of an integer-valued number. */
export function isInt(n: f64): bool {
  return isFinite(n) && Math.floor(n) == n;
}
