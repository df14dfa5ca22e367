/** Number built-ins: rounding, casts, ranges, bit operations, rand.intn. */
import { randomInt } from 'node:crypto';
import { parseNumberText } from '../codec.js';
import { BuiltinError, int, num, str, type BuiltinImpl, type BuiltinTable } from '../operands.js';
import { isInteger, normaliseNumber, type RegoNumber, type Value } from '../value.js';

/** Applies a rounding function, leaving integers (including bigints) untouched. */
function rounding(f: (x: number) => number): BuiltinImpl {
  return (v) => {
    const n = num(v);
    return isInteger(n) ? n : normaliseNumber(f(n as number));
  };
}

/** Go's math.Round: halves away from zero. */
const roundHalfAway = (x: number): number => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** Go's strconv.ParseFloat also accepts these spellings. */
const GO_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function toNumber(v: Value | undefined): Value {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    if (JSON_NUMBER.test(v)) return parseNumberText(v);
    if (GO_FLOAT.test(v)) return normaliseNumber(Number(v));
    throw new BuiltinError('invalid syntax');
  }
  return num(v);
}

/** Ranges are materialised, so their length is capped to keep a policy from exhausting memory. */
const MAX_RANGE_LENGTH = 1_000_000n;

/** Inclusive range from a to b, in steps of `step` towards b. */
function range(a: bigint, b: bigint, step: bigint): Value[] {
  const out: Value[] = [];
  if ((b > a ? b - a : a - b) / step >= MAX_RANGE_LENGTH) throw new BuiltinError('range too large');
  if (a <= b) for (let i = a; i <= b; i += step) out.push(normaliseNumber(i));
  else for (let i = a; i >= b; i -= step) out.push(normaliseNumber(i));
  return out;
}

/** Left shifts grow numbers without bound; past this many bits a policy is more likely hostile than useful. */
const MAX_SHIFT = 4096n;

function bitOp(f: (a: bigint, b: bigint) => bigint): BuiltinImpl {
  return (a, b) => normaliseNumber(f(int(a), int(b)));
}

/** rand.intn is consistent for the same arguments within one policy instance (bounded memory). */
function randIntn(): BuiltinImpl {
  const seen = new Map<string, number>();
  return (key, n) => {
    const k = str(key);
    const limit = Math.abs(Number(int(n)));
    if (limit === 0) return 0;
    const id = `${limit}\u0000${k}`;
    const cached = seen.get(id);
    if (cached !== undefined) return cached;
    const r = randomInt(Math.min(limit, 2 ** 48 - 1));
    if (seen.size >= 10_000) seen.clear();
    seen.set(id, r);
    return r;
  };
}

export function numberBuiltins(): BuiltinTable {
  return {
    'round': rounding(roundHalfAway),
    'to_number': toNumber,
    'numbers.range': (a, b) => range(int(a), int(b), 1n),
    'numbers.range_step': (a, b, s) => {
      const step = int(s);
      if (step <= 0n) throw new BuiltinError('step must be a positive number above zero');
      return range(int(a), int(b), step);
    },
    'bits.and': bitOp((a, b) => a & b),
    'bits.or': bitOp((a, b) => a | b),
    'bits.xor': bitOp((a, b) => a ^ b),
    'bits.lsh': bitOp((a, b) => {
      if (b < 0n) throw new BuiltinError('shift must be non-negative');
      if (b > MAX_SHIFT) throw new BuiltinError('shift too large');
      return a << b;
    }),
    'bits.rsh': bitOp((a, b) => {
      if (b < 0n) throw new BuiltinError('shift must be non-negative');
      return a >> b;
    }),
    'bits.negate': (a) => normaliseNumber(~int(a)),
    'rand.intn': randIntn(),
  };
}

/** Product of numbers, exact for integers. */
export function multiplyNumbers(xs: RegoNumber[]): RegoNumber {
  if (xs.every(isInteger)) return normaliseNumber(xs.reduce<bigint>((s, x) => s * BigInt(x), 1n));
  return xs.reduce<number>((s, x) => s * Number(x), 1);
}

