/**
 * `policy check --strict`: OPA's strict-mode checks (enforced by default
 * since OPA 1.0), reported with locations instead of failing the compile:
 * duplicate imports, unused imports, unused local assignments and function
 * arguments, `input` / `data` as rule names, and deprecated
 * built-ins (any, all, re_match, net.cidr_overlap, set_diff, cast_*).
 */
import { RegoError } from './rego/ast.js';
import type { Module, Term } from './rego/ast.js';
import { forEachRuleNode } from './rego/walk.js';
import { staticNames } from './compiler/callees.js';

const DEPRECATED = new Set(['any', 'all', 're_match', 'net.cidr_overlap', 'set_diff', 'cast_array', 'cast_set', 'cast_string', 'cast_boolean', 'cast_null', 'cast_object']);
const RESERVED = new Set(['input', 'data']);

function violation(detail: string, t: { loc: Term['loc'] }): RegoError {
  return new RegoError('rego_compile_error', detail, t.loc);
}

function varsIn(t: Term, out: Array<Term & { type: 'var' }>): void {
  if (t.type === 'var') out.push(t);
  else if (t.type === 'array' || t.type === 'set') t.items.forEach((i) => varsIn(i, out));
  else if (t.type === 'object') t.entries.forEach(([, v]) => varsIn(v, out));
}

/** Every strict-mode violation of the modules, in file order. */
export function strictViolations(modules: readonly Module[]): RegoError[] {
  const found: RegoError[] = [];
  for (const module of modules) {
    const used = new Set<string>();
    for (const rule of module.rules) {
      const counts = new Map<string, number>();
      const assigned: Array<Term & { type: 'var' }> = [];
      forEachRuleNode(rule, {
        term: (t) => {
          if (t.type === 'var') {
            used.add(t.name);
            counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
          }
          if (t.type === 'call') {
            const name = staticNames(t.fn)?.join('.');
            if (name !== undefined && DEPRECATED.has(name)) found.push(violation(`deprecated built-in function ${name}`, t));
          }
        },
        expr: (e) => {
          if (e.kind === 'assign') varsIn(e.left, assigned);
        },
      });
      const head = rule.head.ref.type === 'ref' ? rule.head.ref.head : rule.head.ref;
      if (head.type === 'var' && RESERVED.has(head.name)) found.push(violation(`rules must not be named ${head.name} (a reserved name)`, head));
      // (Assigning to input or data is refused by the compiler itself.)
      for (const v of assigned) if (v.name !== '_' && counts.get(v.name) === 1) found.push(violation(`assigned var ${v.name} unused`, v));
      const params: Array<Term & { type: 'var' }> = [];
      for (const a of rule.head.args ?? []) varsIn(a, params);
      for (const p of params) if (p.name !== '_' && counts.get(p.name) === 1) found.push(violation(`unused argument ${p.name}`, p));
    }
    const seen = new Set<string>();
    for (const imp of module.imports) {
      const names = staticNames(imp.path) ?? [];
      const [root] = names;
      if (root === 'rego' || root === 'future') continue;
      const alias = imp.alias ?? names[names.length - 1] ?? '';
      const key = `${names.join('.')} as ${alias}`;
      if (seen.has(key) || seen.has(`as ${alias}`)) found.push(violation(`import ${names.join('.')} is a duplicate`, imp));
      seen.add(key);
      seen.add(`as ${alias}`);
      if (names.length > 1 && !used.has(alias)) found.push(violation(`import ${names.join('.')} unused`, imp));
    }
  }
  return found;
}
