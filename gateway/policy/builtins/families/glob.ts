/** glob.match and glob.quote_meta with the semantics of gobwas/glob (as OPA uses it). */
import { BuiltinError, str, strings, type BuiltinTable } from '../operands.js';
import type { Value } from '../value.js';

const escapeRe = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
const escapeClass = (s: string): string => s.replace(/[\\\]^-]/g, '\\$&');

/** Translates a glob to a regular expression source; `*` and `?` stop at the delimiters. */
function globSource(glob: string, delimiters: string[]): string {
  const notDelim = delimiters.length === 0 ? '[\\s\\S]' : `[^${delimiters.map(escapeClass).join('')}]`;
  let out = '';
  let alternation = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    switch (c) {
      case '\\': {
        const next = glob[++i];
        if (next === undefined) throw new BuiltinError('unexpected end of glob');
        out += escapeRe(next);
        break;
      }
      case '*':
        if (glob[i + 1] === '*') {
          out += '[\\s\\S]*';
          i++;
        } else out += `${notDelim}*`;
        break;
      case '?': out += notDelim; break;
      case '[': {
        const end = glob.indexOf(']', i + 1);
        if (end < 0) throw new BuiltinError('unclosed character class');
        let body = glob.slice(i + 1, end);
        const negated = body.startsWith('!');
        if (negated) body = body.slice(1);
        const cls = body.replace(/[\\\]^]/g, '\\$&');
        out += negated ? `[^${cls}]` : `[${cls}]`;
        i = end;
        break;
      }
      case '{': alternation++; out += '(?:'; break;
      case '}':
        if (alternation === 0) throw new BuiltinError('unbalanced }');
        alternation--;
        out += ')';
        break;
      case ',': out += alternation > 0 ? '|' : ','; break;
      default: out += escapeRe(c);
    }
  }
  if (alternation !== 0) throw new BuiltinError('unbalanced {');
  return `^${out}$`;
}

const cache = new Map<string, RegExp>();

function globMatch(glob: string, delimiters: Value | undefined, s: string): boolean {
  // OPA: null means no delimiters; an empty array means the default ".".
  const delims = delimiters === null ? [] : strings(delimiters);
  const effective = delimiters !== null && delims.length === 0 ? ['.'] : delims;
  const key = JSON.stringify([glob, effective]);
  let re = cache.get(key);
  if (!re) {
    re = new RegExp(globSource(glob, effective), 'u');
    if (cache.size >= 500) cache.clear();
    cache.set(key, re);
  }
  return re.test(s);
}

export const globBuiltins: BuiltinTable = {
  'glob.match': (g, d, s) => globMatch(str(g), d, str(s)),
  'glob.quote_meta': (s) => str(s).replace(/[*?\\[\]{}]/g, '\\$&'),
};
