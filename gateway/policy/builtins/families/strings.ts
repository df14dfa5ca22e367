/** String built-ins (Go strings package semantics, indices in code points). */
import { BuiltinError, arr, int, num, obj, str, strings, type BuiltinTable } from '../operands.js';
import { isInteger, type Value } from '../value.js';
import { renderTemplate } from './template.js';
import { sprintf } from './sprintf.js';

const runes = (s: string): string[] => [...s];

/** A string or a collection of strings, as strings.any_*_match accept. */
const oneOrMany = (v: Value | undefined): string[] => (typeof v === 'string' ? [v] : strings(v));

/** Go's unicode.IsSpace. */
const SPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function trimLeftSet(s: string, cut: string): string {
  const r = runes(s);
  let i = 0;
  while (i < r.length && cut.includes(r[i] as string)) i++;
  return r.slice(i).join('');
}

function trimRightSet(s: string, cut: string): string {
  const r = runes(s);
  let j = r.length;
  while (j > 0 && cut.includes(r[j - 1] as string)) j--;
  return r.slice(0, j).join('');
}

/** Every code point index at which `sub` starts (overlapping); OPA refuses an empty `sub`. */
function indicesOf(s: string, sub: string): number[] {
  if (sub === '') throw new BuiltinError('empty search character');
  const r = runes(s);
  const n = runes(sub).length;
  const out: number[] = [];
  for (let i = 0; i + n <= r.length; i++) if (r.slice(i, i + n).join('') === sub) out.push(i);
  return out;
}

/** Go's strings.Replacer: at each position the first pattern (in key order) that matches wins. */
function replaceN(patterns: Value | undefined, s: string): string {
  const pairs = obj(patterns).sorted().map(([k, v]) => {
    if (typeof k !== 'string') throw new BuiltinError('non-string key found in pattern object');
    if (typeof v !== 'string') throw new BuiltinError('non-string value found in pattern object');
    return [k, v] as const;
  });
  // An empty pattern matches at every position (the end included), but not twice at one.
  let out = '';
  let afterEmptyMatch = false;
  for (let i = 0; i <= s.length;) {
    const hit = pairs.find(([k]) => (k !== '' || !afterEmptyMatch) && s.startsWith(k, i));
    afterEmptyMatch = hit !== undefined && hit[0] === '';
    if (hit) {
      out += hit[1];
      i += hit[0].length;
    } else {
      out += s[i] ?? '';
      i++;
    }
  }
  return out;
}

function formatInt(n: Value | undefined, base: Value | undefined): string {
  const b = Number(int(base));
  if (![2, 8, 10, 16].includes(b)) throw new BuiltinError('operand 2 must be one of {2, 8, 10, 16}');
  const x = num(n);
  const whole = isInteger(x) ? BigInt(x) : BigInt(Math.trunc(x as number));
  return whole.toString(b);
}

function substring(s: string, start: number, length: number): string {
  if (start < 0) throw new BuiltinError('negative offset');
  const r = runes(s);
  if (start >= r.length) return '';
  return r.slice(start, length < 0 ? undefined : start + length).join('');
}

/** Go's strings.Replace: an empty `old` matches before every character and at the end. */
function replace(s: string, old: string, replacement: string): string {
  return (old === '' ? ['', ...runes(s), ''] : s.split(old)).join(replacement);
}

function count(s: string, sub: string): number {
  if (sub === '') return runes(s).length + 1;
  return s.split(sub).length - 1;
}

export const stringBuiltins: BuiltinTable = {
  'format_int': formatInt,
  'indexof': (s, sub) => indicesOf(str(s), str(sub))[0] ?? -1,
  'indexof_n': (s, sub) => indicesOf(str(s), str(sub)),
  'replace': (s, o, n) => replace(str(s), str(o), str(n)),
  'strings.replace_n': (p, s) => replaceN(p, str(s)),
  'sprintf': (f, args) => sprintf(str(f), arr(args)),
  'substring': (s, start, len) => substring(str(s), Number(int(start)), Number(int(len))),
  'trim_space': (s) => trimRightSet(trimLeftSet(str(s), SPACE), SPACE),
  'strings.reverse': (s) => runes(str(s)).reverse().join(''),
  'strings.count': (s, sub) => count(str(s), str(sub)),
  'strings.any_prefix_match': (s, p) => {
    const prefixes = oneOrMany(p);
    return oneOrMany(s).some((x) => prefixes.some((pre) => x.startsWith(pre)));
  },
  'strings.any_suffix_match': (s, p) => {
    const suffixes = oneOrMany(p);
    return oneOrMany(s).some((x) => suffixes.some((suf) => x.endsWith(suf)));
  },
  'strings.render_template': (t, vars) => renderTemplate(str(t), obj(vars)),
};
