/** object.* and array.* built-ins. */
import { BuiltinError, arr, items, obj, smallInt, type BuiltinTable } from '../operands.js';
import { RegoObject, RegoSet, equal, isNumber, typeName, type Value } from '../value.js';

/** The keys named by an array, set or object (its keys). */
function keySet(v: Value | undefined): RegoSet {
  if (v instanceof RegoObject) return new RegoSet(v.keys());
  return new RegoSet(items(v));
}

/** One step into a composite value, or undefined when there is nothing there. */
export function child(v: Value, key: Value): Value | undefined {
  if (v instanceof RegoObject) return v.get(key);
  if (Array.isArray(v)) {
    if (!isNumber(key) || !Number.isInteger(Number(key))) return undefined;
    return v[Number(key)];
  }
  if (v instanceof RegoSet) return v.has(key) ? key : undefined;
  return undefined;
}

/** Recursive merge: b wins, except where both sides hold objects. */
function union(a: RegoObject, b: RegoObject): RegoObject {
  const out = new RegoObject(a.entries.values());
  for (const [k, vb] of b.entries.values()) {
    const va = out.get(k);
    out.set(k, va instanceof RegoObject && vb instanceof RegoObject ? union(va, vb) : vb);
  }
  return out;
}

/** Whether `sub` is contained in `sup`: objects key by key (recursively), sets by members, arrays as a contiguous run. */
function subset(sup: Value, sub: Value): boolean {
  if (sup instanceof RegoObject && sub instanceof RegoObject) {
    return sub.keys().every((k) => {
      const vs = sup.get(k);
      const vb = sub.get(k) as Value;
      if (vs === undefined) return false;
      const composite = typeName(vs) === typeName(vb) && ['object', 'set', 'array'].includes(typeName(vs));
      return composite ? subset(vs, vb) : equal(vs, vb);
    });
  }
  if (sup instanceof RegoSet && sub instanceof RegoSet) return [...sub.members.values()].every((x) => sup.has(x));
  if (Array.isArray(sup) && sub instanceof RegoSet) return [...sub.members.values()].every((x) => sup.some((y) => equal(x, y)));
  if (Array.isArray(sup) && Array.isArray(sub)) {
    if (sub.length === 0) return true;
    for (let i = 0; i + sub.length <= sup.length; i++) {
      if (sub.every((x, j) => equal(x, sup[i + j] as Value))) return true;
    }
    return false;
  }
  throw new BuiltinError('both arguments must be objects, sets or arrays of the same kind');
}

export const objectBuiltins: BuiltinTable = {
  'object.get': (o, key, dflt) => {
    const path = Array.isArray(key) ? key : [key as Value];
    let cur: Value | undefined = obj(o);
    for (const k of path) {
      cur = cur === undefined ? undefined : child(cur, k);
    }
    return cur === undefined ? dflt : cur;
  },
  'object.keys': (o) => new RegoSet(obj(o).keys()),
  'object.remove': (o, keys) => {
    const drop = keySet(keys);
    return new RegoObject([...obj(o).entries.values()].filter(([k]) => !drop.has(k)));
  },
  'object.filter': (o, keys) => {
    const keep = keySet(keys);
    return new RegoObject([...obj(o).entries.values()].filter(([k]) => keep.has(k)));
  },
  'object.union': (a, b) => union(obj(a), obj(b)),
  'object.union_n': (list) => arr(list).map(obj).reduce(union, new RegoObject()),
  'object.subset': (sup, sub) => subset(sup as Value, sub as Value),
  'array.concat': (a, b) => [...arr(a), ...arr(b)],
  'array.slice': (a, start, stop) => {
    const xs = arr(a);
    const from = Math.max(0, smallInt(start));
    const to = Math.min(xs.length, smallInt(stop));
    return from >= to ? [] : xs.slice(from, to);
  },
  'array.reverse': (a) => [...arr(a)].reverse(),
};
