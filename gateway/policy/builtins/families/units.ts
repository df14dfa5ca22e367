/** units.parse and units.parse_bytes: quantities with SI and binary suffixes, computed exactly. */
import { BuiltinError, str, type BuiltinTable } from '../operands.js';
import { normaliseNumber, type RegoNumber } from '../value.js';

/** A multiplier as a power of ten or of two. */
type Scale = { ten: number } | { two: number };

const SI = ['k', 'm', 'g', 't', 'p', 'e'];
/** Suffix (lower case) → scale; "m" alone is milli in units.parse and is handled there. */
function scaleTable(bytes: boolean): Map<string, Scale> {
  const table = new Map<string, Scale>([['', { ten: 0 }]]);
  SI.forEach((p, i) => {
    table.set(p, { ten: 3 * (i + 1) });
    table.set(`${p}i`, { two: 10 * (i + 1) });
    if (bytes) {
      table.set(`${p}b`, { ten: 3 * (i + 1) });
      table.set(`${p}ib`, { two: 10 * (i + 1) });
    }
  });
  if (bytes) table.set('b', { ten: 0 });
  return table;
}

const UNITS = scaleTable(false);
const BYTE_UNITS = scaleTable(true);
const AMOUNT = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(.*)$/;

/** Exact decimal: digits × 10^exp. */
function decimal(text: string): { digits: bigint; exp: number } {
  const [mantissa = '', e = '0'] = text.toLowerCase().split('e');
  const [whole = '', frac = ''] = mantissa.split('.');
  return { digits: BigInt(`${whole.replace('+', '') || '0'}${frac}`), exp: Number(e) - frac.length };
}

function scaled(amount: string, scale: Scale, integer: boolean): RegoNumber {
  let { digits, exp } = decimal(amount);
  if ('ten' in scale) exp += scale.ten;
  else digits *= 2n ** BigInt(scale.two);
  if (exp >= 0) return normaliseNumber(digits * 10n ** BigInt(exp));
  const div = 10n ** BigInt(-exp);
  if (integer || digits % div === 0n) return normaliseNumber(digits / div);
  return Number(`${digits}e${exp}`);
}

function parseUnits(input: string, bytes: boolean): RegoNumber {
  const text = input.replace(/"/g, '');
  if (/\s/.test(text)) throw new BuiltinError('spaces not allowed in resource strings');
  const m = AMOUNT.exec(text);
  if (!m) throw new BuiltinError('no amount provided');
  const [, amount = '', suffix = ''] = m;
  if (!bytes && suffix === 'm') return scaled(amount, { ten: -3 }, false);
  const scale = (bytes ? BYTE_UNITS : UNITS).get(suffix.toLowerCase());
  if (!scale) throw new BuiltinError(`unknown unit ${suffix}`);
  return scaled(amount, scale, bytes);
}

export const unitBuiltins: BuiltinTable = {
  'units.parse': (s) => parseUnits(str(s), false),
  'units.parse_bytes': (s) => parseUnits(str(s), true),
};
