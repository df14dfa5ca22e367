/**
 * Rego values on the host, with OPA's total order and equality.
 *
 * Numbers are JS numbers, except integers outside the safe range, which are
 * bigints so that nanosecond timestamps, serial numbers and bit operations
 * stay exact (Rego numbers are arbitrary precision).
 */
import { serialise } from './codec.js';

export type RegoNumber = number | bigint;
export type Value = null | boolean | RegoNumber | string | Value[] | RegoObject | RegoSet;

/** A Rego set; members are keyed by their canonical value text. */
export class RegoSet {
  readonly members = new Map<string, Value>();

  constructor(values: Iterable<Value> = []) {
    for (const v of values) this.add(v);
  }

  add(v: Value): void {
    this.members.set(serialise(v), v);
  }

  has(v: Value): boolean {
    return this.members.has(serialise(v));
  }

  get size(): number {
    return this.members.size;
  }

  /** Members in OPA's order. */
  sorted(): Value[] {
    return [...this.members.values()].sort(compare);
  }
}

/** A Rego object: any value may be a key. */
export class RegoObject {
  readonly entries = new Map<string, [Value, Value]>();

  constructor(pairs: Iterable<[Value, Value]> = []) {
    for (const [k, v] of pairs) this.set(k, v);
  }

  static fromRecord(record: Record<string, Value>): RegoObject {
    return new RegoObject(Object.entries(record));
  }

  set(k: Value, v: Value): void {
    this.entries.set(serialise(k), [k, v]);
  }

  get(k: Value): Value | undefined {
    return this.entries.get(serialise(k))?.[1];
  }

  has(k: Value): boolean {
    return this.entries.has(serialise(k));
  }

  delete(k: Value): void {
    this.entries.delete(serialise(k));
  }

  get size(): number {
    return this.entries.size;
  }

  keys(): Value[] {
    return [...this.entries.values()].map(([k]) => k);
  }

  /** Entries in OPA's key order. */
  sorted(): [Value, Value][] {
    return [...this.entries.values()].sort((a, b) => compare(a[0], b[0]));
  }
}

export type TypeName = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'set';

export function typeName(v: Value): TypeName {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof RegoObject) return 'object';
  if (v instanceof RegoSet) return 'set';
  switch (typeof v) {
    case 'boolean': return 'boolean';
    case 'string': return 'string';
    default: return 'number';
  }
}

const TYPE_RANK: Record<TypeName, number> = {
  null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5, set: 6,
};

export function isNumber(v: Value): v is RegoNumber {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** Whether a number is an integer (bigints always are). */
export function isInteger(n: RegoNumber): boolean {
  return typeof n === 'bigint' || Number.isInteger(n);
}

/** Keeps a bigint only when a JS number cannot hold it exactly. */
export function normaliseNumber(n: RegoNumber): RegoNumber {
  if (typeof n === 'number') return Object.is(n, -0) ? 0 : n;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

export function compareNumbers(a: RegoNumber, b: RegoNumber): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (isInteger(a) && isInteger(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = Number(a);
  const y = Number(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Go compares strings bytewise (UTF-8), which is code point order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done) return cb.done ? 0 : -1;
    if (cb.done) return 1;
    const d = (ca.value.codePointAt(0) ?? 0) - (cb.value.codePointAt(0) ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
}

function compareSequences(a: Value[], b: Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compare(a[i] as Value, b[i] as Value);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** OPA's total order over values. */
export function compare(a: Value, b: Value): number {
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return TYPE_RANK[ta] < TYPE_RANK[tb] ? -1 : 1;
  switch (ta) {
    case 'null': return 0;
    case 'boolean': return a === b ? 0 : a === false ? -1 : 1;
    case 'number': return compareNumbers(a as RegoNumber, b as RegoNumber);
    case 'string': return compareStrings(a as string, b as string);
    case 'array': return compareSequences(a as Value[], b as Value[]);
    case 'set': return compareSequences((a as RegoSet).sorted(), (b as RegoSet).sorted());
    case 'object': {
      const ea = (a as RegoObject).sorted();
      const eb = (b as RegoObject).sorted();
      const n = Math.min(ea.length, eb.length);
      for (let i = 0; i < n; i++) {
        const [ka, va] = ea[i] as [Value, Value];
        const [kb, vb] = eb[i] as [Value, Value];
        const c = compare(ka, kb) || compare(va, vb);
        if (c !== 0) return c;
      }
      return ea.length === eb.length ? 0 : ea.length < eb.length ? -1 : 1;
    }
  }
}

export function equal(a: Value, b: Value): boolean {
  return compare(a, b) === 0;
}

/** Converts plain JSON (from JSON.parse or a library) into a Rego value. */
export function fromJson(j: unknown): Value {
  if (j === null || typeof j === 'boolean' || typeof j === 'string') return j;
  if (typeof j === 'number') return normaliseNumber(j);
  if (typeof j === 'bigint') return normaliseNumber(j);
  if (Array.isArray(j)) return j.map(fromJson);
  if (typeof j === 'object') {
    return new RegoObject(Object.entries(j as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, fromJson(v)]));
  }
  throw new TypeError(`cannot convert ${typeof j} to a Rego value`);
}

/**
 * Converts a Rego value into plain JSON as OPA's JSON encoding does: sets
 * become arrays, non-string object keys become their value text. Big
 * integers become (inexact) JS numbers: this feeds libraries that take plain
 * JSON; exact JSON text comes from serialiseJson.
 */
export function toJson(v: Value): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? Number(v) : v;
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof RegoSet) return v.sorted().map(toJson);
  const out: Record<string, unknown> = {};
  for (const [k, val] of v.sorted()) out[typeof k === 'string' ? k : serialise(k)] = toJson(val);
  return out;
}
