/**
 * What the differential tests compare, and how.
 *
 * Both engines hand back plain JSON, which cannot tell a set from an array
 * nor carry non-string object keys. So each probed value first goes through a
 * small Rego helper (TAG_HELPER_REGO, evaluated by each engine on its own
 * value) that spells the type out:
 *   set    -> {"rego.set": [tagged element, ...]}
 *   object -> {"rego.object": [[tagged key, tagged value], ...]}
 *   array  -> [tagged element, ...]
 *   null, boolean, number, string -> itself
 * nested up to TAG_DEPTH levels (Rego has no recursion), deeper values
 * becoming the string TOO_DEEP on both sides.
 *
 * Then:
 * - set elements and object entries are compared as sorted lists (their
 *   order is an engine detail), equal members once;
 * - numbers: OPA's evaluator computes with arbitrary-precision decimals and
 *   prints them in full (`0.85714285714285714287`), Portcullis computes with
 *   IEEE doubles. OPA's decimal is rounded to the nearest double; equal
 *   doubles agree exactly, doubles within a relative 1e-12 agree "up to
 *   rounding" (counted apart), anything else disagrees;
 * - everything else must be identical.
 */

const TAG_DEPTH = 8;
const TOO_DEEP = 'rego.too_deep';

/** Name of the helper function that tags a value to TAG_DEPTH levels. */
export const TAG_FUNCTION = `pcr_tag_${TAG_DEPTH}`;

function tagLevel(level: number): string {
  const inner = `pcr_tag_${level - 1}`;
  return [
    `pcr_tag_${level}(x) := {"rego.set": [${inner}(e) | some e in x]} if {`,
    '\tis_set(x)',
    `} else := {"rego.object": [[${inner}(k), ${inner}(v)] | some k, v in x]} if {`,
    '\tis_object(x)',
    `} else := [${inner}(e) | some e in x] if {`,
    '\tis_array(x)',
    '} else := x',
  ].join('\n');
}

/**
 * The tagging functions (no package line): Rego that both OPA 0.47 (with the
 * future keywords imported) and Portcullis (Rego v1) accept.
 */
export const TAG_HELPER_REGO = [
  `pcr_tag_0(x) := ${JSON.stringify(TOO_DEEP)}`,
  ...Array.from({ length: TAG_DEPTH }, (_, i) => tagLevel(i + 1)),
].join('\n\n');

/** A number as one engine returned it: OPA's decimal text, or Portcullis's double. */
export class RegoNumber {
  constructor(readonly text: string, readonly value: number) {}
}

/** A tagged value with numbers wrapped in RegoNumber; otherwise plain JSON. */
export type Tagged = null | boolean | string | RegoNumber | Tagged[] | { [key: string]: Tagged };

/** Wraps the numbers of an already parsed JSON value (Portcullis's results). */
export function fromJsonValue(v: unknown): Tagged {
  if (typeof v === 'number') return new RegoNumber(String(v), v);
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (v !== null && typeof v === 'object') {
    const out: { [key: string]: Tagged } = {};
    for (const [k, x] of Object.entries(v)) out[k] = fromJsonValue(x);
    return out;
  }
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  throw new Error(`not a JSON value: ${typeof v}`);
}

/** Parses JSON text keeping each number's exact text (OPA's json.marshal output). */
export function parseJsonKeepingNumbers(text: string): Tagged {
  let pos = 0;
  const fail = (what: string): never => { throw new Error(`invalid JSON at ${pos}: ${what}`); };
  const skip = (): void => { while (pos < text.length && ' \t\r\n'.includes(text[pos]!)) pos++; };
  const value = (): Tagged => {
    skip();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const out: { [key: string]: Tagged } = {};
      skip();
      if (text[pos] === '}') { pos++; return out; }
      for (;;) {
        skip();
        const key = value();
        if (typeof key !== 'string') fail('object key');
        skip();
        if (text[pos++] !== ':') fail("expected ':'");
        out[key as string] = value();
        skip();
        const sep = text[pos++];
        if (sep === '}') return out;
        if (sep !== ',') fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const out: Tagged[] = [];
      skip();
      if (text[pos] === ']') { pos++; return out; }
      for (;;) {
        out.push(value());
        skip();
        const sep = text[pos++];
        if (sep === ']') return out;
        if (sep !== ',') fail("expected ',' or ']'");
      }
    }
    if (c === '"') {
      const start = pos++;
      while (pos < text.length && text[pos] !== '"') pos += text[pos] === '\\' ? 2 : 1;
      pos++;
      return JSON.parse(text.slice(start, pos)) as string;
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(pos, pos + 400));
    if (!m) return fail('unexpected character');
    pos += m[0].length;
    if (m[0] === 'true' || m[0] === 'false' || m[0] === 'null') return JSON.parse(m[0]) as boolean | null;
    return new RegoNumber(m[0], Number(m[0]));
  };
  const out = value();
  skip();
  if (pos !== text.length) fail('trailing text');
  return out;
}

/** A stable text for a tagged value (numbers as doubles), used to sort sets and objects. */
function sortKey(v: Tagged): string {
  if (v instanceof RegoNumber) return `n${v.value}`;
  if (Array.isArray(v)) return `[${v.map(sortKey).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const set = v['rego.set'];
    if (Array.isArray(set)) return `set{${set.map(sortKey).sort().join(',')}}`;
    const entries = v['rego.object'];
    if (Array.isArray(entries)) return `obj{${entries.map(sortKey).sort().join(',')}}`;
    return `?${JSON.stringify(Object.keys(v))}`;
  }
  return JSON.stringify(v);
}

/**
 * Sets and objects (the tag objects) with their members in a stable order,
 * recursively. Equal members count once: OPA 0.47 can keep two equal set
 * members, or two equal object entries, when they were computed differently
 * (`{{}, object.union({}, {})}`, `{input.empty: 1, "": 1}`), which a set or
 * an object cannot hold.
 */
function ordered(v: Tagged): Tagged {
  if (Array.isArray(v)) return v.map(ordered);
  if (v === null || typeof v !== 'object' || v instanceof RegoNumber) return v;
  const out: { [key: string]: Tagged } = {};
  for (const [k, x] of Object.entries(v)) {
    if (!Array.isArray(x)) {
      out[k] = ordered(x);
      continue;
    }
    const members = x.map((m) => ({ m: ordered(m), key: sortKey(m) })).sort((p, q) => (p.key < q.key ? -1 : p.key > q.key ? 1 : 0));
    out[k] = members.filter((p, i) => i === 0 || p.key !== members[i - 1]!.key).map((p) => p.m);
  }
  return out;
}

export type Agreement = 'equal' | 'rounding' | 'different';

const ROUNDING_TOLERANCE = 1e-12;

function compareNumbers(a: RegoNumber, b: RegoNumber): Agreement {
  if (a.value === b.value) return 'equal';
  if (!Number.isFinite(a.value) || !Number.isFinite(b.value)) return 'different';
  const scale = Math.max(Math.abs(a.value), Math.abs(b.value));
  return Math.abs(a.value - b.value) <= ROUNDING_TOLERANCE * scale ? 'rounding' : 'different';
}

function compareOrdered(a: Tagged, b: Tagged): Agreement {
  if (a instanceof RegoNumber || b instanceof RegoNumber) {
    return a instanceof RegoNumber && b instanceof RegoNumber ? compareNumbers(a, b) : 'different';
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return 'different';
    return worst(a.map((x, i) => compareOrdered(x, b[i]!)));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join('\u0000') !== kb.join('\u0000')) return 'different';
    return worst(ka.map((k) => compareOrdered(a[k]!, b[k]!)));
  }
  return a === b ? 'equal' : 'different';
}

function worst(results: Agreement[]): Agreement {
  if (results.includes('different')) return 'different';
  return results.includes('rounding') ? 'rounding' : 'equal';
}

/** Compares two tagged values as described at the top of this file. */
function compareTagged(a: Tagged, b: Tagged): Agreement {
  return compareOrdered(ordered(a), ordered(b));
}

/** Plain JSON for messages (numbers as their text). */
function showTagged(v: Tagged): string {
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof RegoNumber ? x.text : x));
}

/** One question for both engines: the value of a rule for an input and data. */
export interface Probe {
  /** The rule to evaluate, as a data path: "portcullis.decision". */
  query: string;
  /** The input document. Always given ({} for none): the reference cannot unset its own input. */
  input: unknown;
  /** Base documents; each top-level key must be a plain name. */
  data?: Record<string, unknown>;
}

/** An engine's answer to a probe; error messages are not compared, only that both failed. */
export type Outcome =
  | { kind: 'value'; value: Tagged }
  | { kind: 'undefined' }
  | { kind: 'error'; message: string };

/** Whether two engines' outcomes agree (see compareTagged for values). */
export function compareOutcomes(a: Outcome, b: Outcome): Agreement {
  if (a.kind === 'value' && b.kind === 'value') return compareTagged(a.value, b.value);
  return a.kind === b.kind && a.kind !== 'value' ? 'equal' : 'different';
}

export function showOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'value': return showTagged(o.value);
    case 'undefined': return 'undefined';
    case 'error': return `error: ${o.message}`;
  }
}

/**
 * A tagged value as the plain JSON OPA's API would return (sets as arrays in
 * a stable order, non-string object keys as their JSON text, numbers as
 * doubles), to hold it against expectations written in JSON.
 */
export function untag(v: Tagged): unknown {
  if (v instanceof RegoNumber) return v.value;
  if (Array.isArray(v)) return v.map(untag);
  if (v === null || typeof v !== 'object') return v;
  const o = ordered(v) as { [key: string]: Tagged };
  const set = o['rego.set'];
  if (Array.isArray(set)) return set.map(untag);
  const entries = o['rego.object'];
  if (Array.isArray(entries)) {
    return Object.fromEntries(entries.map((e) => {
      const [k, x] = e as [Tagged, Tagged];
      return [typeof k === 'string' ? k : JSON.stringify(untag(k)), untag(x)];
    }));
  }
  return v;
}
