/**
 * regex.globs_match: whether two glob-like patterns (literals, ".", classes,
 * each optionally followed by *, + or ?) both match some non-empty string.
 * Decided on the product of the patterns' automata.
 */
import { BuiltinError } from '../operands.js';

type Ranges = [number, number][];
interface Token { set: Ranges; min: 0 | 1; repeat: boolean }

const ANY: Ranges = [[0, 0x10ffff]];

function complement(r: Ranges): Ranges {
  const sorted = [...r].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

function tokens(pattern: string): Token[] {
  const chars = [...pattern];
  const out: Token[] = [];
  const fail = (why: string, pos: number): never => {
    throw new BuiltinError(`input:${pattern}, pos:${pos}, ${why}: the input provided is invalid`);
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    let set: Ranges;
    if (c === '\\') {
      const e = chars[++i];
      if (e === undefined) fail('trailing escape', i);
      set = [[(e as string).codePointAt(0) as number, (e as string).codePointAt(0) as number]];
    } else if (c === '.') set = ANY;
    else if (c === '[') {
      const ranges: Ranges = [];
      let j = i + 1;
      const negated = chars[j] === '^';
      if (negated) j++;
      for (; j < chars.length && chars[j] !== ']'; j++) {
        let lo = chars[j] as string;
        if (lo === '\\') lo = chars[++j] ?? fail('trailing escape', j);
        let hi = lo;
        if (chars[j + 1] === '-' && chars[j + 2] !== undefined && chars[j + 2] !== ']') {
          hi = chars[j + 2] as string;
          j += 2;
        }
        ranges.push([lo.codePointAt(0) as number, hi.codePointAt(0) as number]);
      }
      if (j >= chars.length) fail("set-open '[' with no closing ']'", i + 1);
      set = negated ? complement(ranges) : ranges;
      i = j;
    } else if (c === ']') return fail("set-close ']' with no preceding '['", i + 1);
    else if ('*+?'.includes(c)) return fail(`quantifier '${c}' with nothing to repeat`, i + 1);
    else set = [[c.codePointAt(0) as number, c.codePointAt(0) as number]];
    const q = chars[i + 1];
    if (q === '*' || q === '+' || q === '?') i++;
    out.push({ set, min: q === '*' || q === '?' ? 0 : 1, repeat: q === '*' || q === '+' });
  }
  return out;
}

const overlaps = (a: Ranges, b: Ranges): boolean => a.some(([l1, h1]) => b.some(([l2, h2]) => l1 <= h2 && l2 <= h1));

/** Positions reachable without consuming input (skipping optional tokens). */
function closure(ts: Token[], i: number): number[] {
  const out = [i];
  while (i < ts.length && (ts[i] as Token).min === 0) out.push(++i);
  return out;
}

/** Positions after consuming one character with token i. */
const step = (ts: Token[], i: number): number[] => ((ts[i] as Token).repeat ? [i, i + 1] : [i + 1]);

export function globsIntersect(p1: string, p2: string): boolean {
  const a = tokens(p1);
  const b = tokens(p2);
  const seen = new Set<string>();
  const queue: [number, number][] = [];
  const push = (i: number, j: number): void => {
    for (const x of closure(a, i)) for (const y of closure(b, j)) {
      const k = `${x},${y}`;
      if (!seen.has(k)) {
        seen.add(k);
        queue.push([x, y]);
      }
    }
  };
  // Start: every pair reachable by consuming the first character.
  for (const i of closure(a, 0)) for (const j of closure(b, 0)) {
    if (i < a.length && j < b.length && overlaps((a[i] as Token).set, (b[j] as Token).set)) {
      for (const x of step(a, i)) for (const y of step(b, j)) push(x, y);
    }
  }
  for (let q = 0; q < queue.length; q++) {
    const [i, j] = queue[q] as [number, number];
    if (i === a.length && j === b.length) return true;
    if (i < a.length && j < b.length && overlaps((a[i] as Token).set, (b[j] as Token).set)) {
      for (const x of step(a, i)) for (const y of step(b, j)) push(x, y);
    }
  }
  return false;
}
