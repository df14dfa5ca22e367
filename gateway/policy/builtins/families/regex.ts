/** regex.* built-ins: Go RE2 syntax run on JS RegExp. */
import { BuiltinError, int, str, type BuiltinTable } from '../operands.js';
import type { Value } from '../value.js';
import { globsIntersect } from './globs-intersect.js';

/** RE2 has no lookaround and no backreferences; JS would accept them. */
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]/;

const cache = new Map<string, RegExp>();

/** Compiles a Go RE2 pattern (global flag set; callers reset lastIndex). */
export function compileRe2(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  if (NOT_RE2.test(pattern)) throw new BuiltinError('invalid regular expression');
  let source = pattern;
  let flags = 'gu';
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead) {
    source = source.slice(lead[0].length);
    for (const f of lead[1] ?? '') if (f !== 'U' && !flags.includes(f)) flags += f;
  }
  source = source
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$(?![\\s\\S])');
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch {
    try {
      re = new RegExp(source, flags.replace('u', ''));
    } catch {
      throw new BuiltinError('invalid regular expression');
    }
  }
  if (cache.size >= 500) cache.clear();
  cache.set(pattern, re);
  return re;
}

function test(pattern: string, s: string): boolean {
  const re = compileRe2(pattern);
  re.lastIndex = 0;
  return re.test(s);
}

/** Matches left to right, at most n (all when n < 0), stepping past empty matches. */
function matches(pattern: string, s: string, n: number): RegExpExecArray[] {
  const re = compileRe2(pattern);
  const out: RegExpExecArray[] = [];
  re.lastIndex = 0;
  while (n < 0 || out.length < n) {
    const m = re.exec(s);
    if (!m) break;
    out.push(m);
    if (m[0] === '') re.lastIndex += 1;
  }
  return out;
}

/** Go's Regexp.Split(s, -1). */
function split(pattern: string, s: string): string[] {
  if (s === '') return [''];
  const out: string[] = [];
  let last = 0;
  for (const m of matches(pattern, s, -1)) {
    if (m[0] === '' && (m.index === 0 || m.index === s.length)) continue;
    out.push(s.slice(last, m.index));
    last = m.index + m[0].length;
  }
  out.push(s.slice(last));
  return out;
}

/** Go's template expansion: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_all, tok: string, braced?: string, bare?: string) => {
    if (tok === '$') return '$';
    const name = braced ?? bare ?? '';
    const v = /^\d+$/.test(name) ? m[Number(name)] : m.groups?.[name];
    return v ?? '';
  });
}

function replace(s: string, pattern: string, template: string): string {
  let out = '';
  let last = 0;
  for (const m of matches(pattern, s, -1)) {
    out += s.slice(last, m.index) + expand(template, m);
    last = m.index + m[0].length;
  }
  return out + s.slice(last);
}

const quoteMeta = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/** regex.template_match: literal text with regular expressions between the delimiters. */
function templateMatch(template: string, s: string, open: string, close: string): boolean {
  let source = '';
  let i = 0;
  while (i < template.length) {
    const start = template.indexOf(open, i);
    if (start < 0) {
      source += quoteMeta(template.slice(i));
      break;
    }
    source += quoteMeta(template.slice(i, start));
    let depth = 0;
    let j = start;
    for (; j < template.length; j++) {
      if (template.startsWith(open, j)) depth++;
      else if (template.startsWith(close, j) && --depth === 0) break;
    }
    if (j >= template.length) throw new BuiltinError('unbalanced delimiters in template');
    source += `(?:${template.slice(start + open.length, j)})`;
    i = j + close.length;
  }
  return test(`^${source}$`, s);
}

export const regexBuiltins: BuiltinTable = {
  'regex.match': (p, s) => test(str(p), str(s)),
  're_match': (p, s) => test(str(p), str(s)),
  'regex.is_valid': (p) => {
    if (typeof p !== 'string') return false;
    try {
      compileRe2(p);
      return true;
    } catch {
      return false;
    }
  },
  'regex.split': (p, s) => split(str(p), str(s)),
  'regex.find_n': (p, s, n) => matches(str(p), str(s), Number(int(n))).map((m) => m[0]),
  'regex.find_all_string_submatch_n': (p, s, n) =>
    matches(str(p), str(s), Number(int(n))).map((m): Value => [...m].map((g) => g ?? '')),
  'regex.replace': (s, p, t) => replace(str(s), str(p), str(t)),
  'regex.template_match': (t, s, o, c) => templateMatch(str(t), str(s), str(o), str(c)),
  'regex.globs_match': (a, b) => globsIntersect(str(a), str(b)),
};
