/**
 * sprintf with Go fmt semantics for the operands OPA passes to fmt.Sprintf:
 * integers (arbitrary size), floats, strings, and the term text of every
 * other value (booleans and composites arrive as strings, as in OPA).
 */
import { termText } from '../codec.js';
import { isInteger, isNumber, type Value } from '../value.js';

type Operand =
  | { kind: 'int'; v: bigint }
  | { kind: 'float'; v: number }
  | { kind: 'string'; v: string };

function operand(v: Value): Operand {
  if (isNumber(v)) return isInteger(v) ? { kind: 'int', v: BigInt(v) } : { kind: 'float', v: Number(v) };
  if (typeof v === 'string') return { kind: 'string', v };
  return { kind: 'string', v: termText(v) };
}

interface Spec { minus: boolean; plus: boolean; sharp: boolean; zero: boolean; space: boolean; width?: number; prec?: number; verb: string }

const GO_TYPE = { int: 'int', float: 'float64', string: 'string' } as const;

const INT64_LIMIT = 2n ** 63n;
const fitsInt64 = (v: bigint): boolean => v >= -INT64_LIMIT && v < INT64_LIMIT;

/** Go's %e exponent has at least two digits. */
const goExponent = (s: string): string => s.replace(/e([+-])(\d)$/, 'e$10$2');

function formatG(x: number, prec: number | undefined, sharp: boolean): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  const shortest = prec === undefined;
  const p = prec === 0 ? 1 : prec;
  const exp = Number((shortest ? x.toExponential() : x.toExponential((p as number) - 1)).split('e')[1]);
  const eprec = shortest ? 6 : (p as number);
  let out: string;
  if (exp < -4 || exp >= eprec) out = goExponent(shortest ? x.toExponential() : x.toExponential((p as number) - 1));
  else out = shortest ? String(x) : x.toFixed(Math.max(0, (p as number) - 1 - exp));
  if (!sharp && !shortest && out.includes('.')) out = out.replace(/\.?0+(e|$)/, '$1');
  return out;
}

/** Formats one operand; undefined when the verb does not apply (Go's %!verb(type=value)). */
function formatOperand(op: Operand, s: Spec): string | undefined {
  const { verb } = s;
  if (verb === 'T') return GO_TYPE[op.kind];
  if (op.kind === 'int') {
    const neg = op.v < 0n;
    const abs = neg ? -op.v : op.v;
    const sign = neg ? '-' : s.plus ? '+' : s.space ? ' ' : '';
    const digits = (base: number, prefix: string): string => {
      let d = abs.toString(base);
      if (s.prec !== undefined) d = d.padStart(s.prec, '0');
      return sign + (s.sharp ? prefix : '') + d;
    };
    switch (verb) {
      case 'd': case 'v': return digits(10, '');
      // OPA passes integers that fit in 64 bits as Go ints (no %s), larger ones as *big.Int (which has %s).
      case 's': return fitsInt64(op.v) ? undefined : digits(10, '');
      case 'x': return digits(16, '0x');
      case 'X': return digits(16, '0X').toUpperCase();
      case 'o': return digits(8, '0');
      case 'O': return sign + '0o' + abs.toString(8);
      case 'b': return digits(2, '');
      case 'c': return String.fromCodePoint(Number(op.v));
      case 'q': return `'${String.fromCodePoint(Number(op.v))}'`;
      case 'U': return `U+${abs.toString(16).toUpperCase().padStart(4, '0')}`;
      default: return undefined;
    }
  }
  if (op.kind === 'float') {
    const x = op.v;
    const sign = x < 0 || Object.is(x, -0) ? '-' : s.plus ? '+' : s.space ? ' ' : '';
    const a = Math.abs(x);
    switch (verb) {
      case 'v': case 'g': return sign + formatG(a, s.prec, s.sharp);
      case 'G': return sign + formatG(a, s.prec, s.sharp).toUpperCase();
      case 'f': case 'F': return sign + a.toFixed(s.prec ?? 6);
      case 'e': return sign + goExponent(a.toExponential(s.prec ?? 6));
      case 'E': return sign + goExponent(a.toExponential(s.prec ?? 6)).toUpperCase();
      default: return undefined;
    }
  }
  const str = op.v;
  switch (verb) {
    case 'v': case 's': return s.prec === undefined ? str : [...str].slice(0, s.prec).join('');
    case 'q': return s.sharp && !str.includes('`') ? `\`${str}\`` : JSON.stringify(str);
    case 'x': case 'X': {
      const hex = Buffer.from(str, 'utf8').toString('hex');
      return verb === 'X' ? hex.toUpperCase() : hex;
    }
    default: return undefined;
  }
}

function pad(text: string, s: Spec, numeric: boolean): string {
  const width = s.width ?? 0;
  const len = [...text].length;
  if (len >= width) return text;
  if (s.minus) return text + ' '.repeat(width - len);
  if (s.zero && numeric && !(s.prec !== undefined && s.verb !== 'f')) {
    const signLen = /^[+\- ]/.test(text) ? 1 : 0;
    return text.slice(0, signLen) + '0'.repeat(width - len) + text.slice(signLen);
  }
  return ' '.repeat(width - len) + text;
}

const SPEC = /%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])?/y;

function goValueText(op: Operand): string {
  return op.kind === 'string' ? op.v : op.kind === 'int' ? op.v.toString() : formatG(op.v, undefined, false);
}

export function sprintf(format: string, args: Value[]): string {
  const ops = args.map(operand);
  let next = 0;
  let out = '';
  for (let i = 0; i < format.length;) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    SPEC.lastIndex = pct;
    const m = SPEC.exec(format) as RegExpExecArray;
    i = SPEC.lastIndex;
    const [, flags = '', width, prec, verb] = m;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      continue;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    const spec: Spec = {
      minus: flags.includes('-'), plus: flags.includes('+'), sharp: flags.includes('#'),
      zero: flags.includes('0'), space: flags.includes(' '), verb,
      ...(width !== undefined ? { width: Number(width) } : {}),
      ...(prec !== undefined ? { prec: Number(prec || '0') } : {}),
    };
    const op = ops[next++];
    if (op === undefined) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const text = formatOperand(op, spec);
    // A verb that does not apply prints Go's %!verb(type=value), the value as %v with the same flags.
    out += text === undefined
      ? `%!${verb}(${GO_TYPE[op.kind]}=${pad(formatOperand(op, { ...spec, verb: 'v' }) ?? goValueText(op), spec, op.kind !== 'string')})`
      : pad(text, spec, op.kind !== 'string');
  }
  if (next < ops.length) {
    out += `%!(EXTRA ${ops.slice(next).map((op) => `${GO_TYPE[op.kind]}=${goValueText(op)}`).join(', ')})`;
  }
  return out;
}
