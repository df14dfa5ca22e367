/**
 * rego.parse_module: a Rego module's syntax tree as the JSON OPA produces
 * for it (`package.path`, `imports`, `rules` with `head` and `body`, terms
 * as { type, value }, expressions as { index, terms }), without locations.
 * Operators appear as the calls they stand for (`x == 1` is
 * [ref equal, x, 1]), as in OPA's tree.
 */
import { parseModule } from '../../rego/parser.js';
import type { Body, Expr, Rule, Term } from '../../rego/ast.js';
import { str, type BuiltinTable } from '../operands.js';
import { fromJson } from '../value.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function term(t: Term): Json {
  switch (t.type) {
    case 'null': return { type: 'null' };
    case 'boolean': case 'string': return { type: t.type, value: t.value };
    case 'number': return { type: 'number', value: Number(t.value) };
    case 'var': return { type: 'var', value: t.name };
    case 'ref': return { type: 'ref', value: refTerms(t) };
    case 'array': case 'set': return { type: t.type, value: t.items.map(term) };
    case 'object': return { type: 'object', value: t.entries.map(([k, v]) => [term(k), term(v)]) };
    case 'call': return { type: 'call', value: [fnRef(t.fn), ...t.args.map(term)] };
    case 'arraycompr': return { type: 'arraycomprehension', value: { term: term(t.head), body: body(t.body) } };
    case 'setcompr': return { type: 'setcomprehension', value: { term: term(t.head), body: body(t.body) } };
    case 'objectcompr': return { type: 'objectcomprehension', value: { key: term(t.key), value: term(t.value), body: body(t.body) } };
  }
}

/** A ref's terms: its head, then each path element (names as strings). */
function refTerms(t: Term & { type: 'ref' }): Json[] {
  return [term(t.head), ...t.path.map(term)];
}

/** A function name as OPA writes an operator: a ref starting with a var (`data.lib.f`, `count`). */
function fnRef(fn: Term): Json {
  return fn.type === 'ref' ? term(fn) : { type: 'ref', value: [term(fn)] };
}

function expr(e: Expr, index: number): Json {
  const out: { [k: string]: Json } = { index };
  switch (e.kind) {
    case 'term': out.terms = e.term.type === 'call' ? [fnRef(e.term.fn), ...e.term.args.map(term)] : term(e.term); break;
    case 'unify': out.terms = [fnRef({ type: 'var', name: 'eq', loc: e.loc }), term(e.left), term(e.right)]; break;
    case 'assign': out.terms = [fnRef({ type: 'var', name: 'assign', loc: e.loc }), term(e.left), term(e.right)]; break;
    case 'some-decl': out.terms = { type: 'some', value: e.vars.map((v): Json => ({ type: 'var', value: v.name })) }; break;
    case 'some-in': {
      const member = [e.key, e.value, e.collection].filter((x): x is Term => x !== undefined).map(term);
      out.terms = { type: 'some', value: [{ type: 'call', value: [{ type: 'ref', value: [{ type: 'var', value: 'internal' }, { type: 'string', value: `member_${member.length - 1}` }] }, ...member] }] };
      break;
    }
    case 'every':
      out.terms = { type: 'every', value: { ...(e.key ? { key: term(e.key) } : {}), value: term(e.value), domain: term(e.domain), body: body(e.body) } };
      break;
  }
  if (e.negated) out.negated = true;
  if (e.with.length > 0) out.with = e.with.map((w): Json => ({ target: term(w.target), value: term(w.value) }));
  return out;
}

function body(b: Body): Json[] {
  return b.map(expr);
}

function rule(r: Rule): Json {
  const h = r.head;
  const ref = h.ref.type === 'ref' ? refTerms(h.ref) : [term(h.ref)];
  const head: { [k: string]: Json } = { ref, assign: h.assign };
  if (h.ref.type === 'var') head.name = h.ref.name;
  if (h.args) head.args = h.args.map(term);
  if (h.contains) head.key = term(h.contains);
  if (h.value) head.value = term(h.value);
  const out: { [k: string]: Json } = { head, body: r.body.length > 0 ? body(r.body) : [{ index: 0, terms: { type: 'boolean', value: true } }] };
  if (r.isDefault) out.default = true;
  // OPA chains else branches: each one is the `else` of the one before.
  let tail = out;
  for (const e of r.elses) {
    const next: { [k: string]: Json } = { head: { ...head, ...(e.value ? { value: term(e.value) } : { value: { type: 'boolean', value: true } }) }, body: body(e.body) };
    tail.else = next;
    tail = next;
  }
  return out;
}

export function moduleJson(source: string, file: string): Json {
  const m = parseModule(source, file);
  return {
    package: { path: [{ type: 'var', value: 'data' }, ...m.package.map((p): Json => ({ type: 'string', value: p }))] },
    ...(m.imports.length > 0 ? { imports: m.imports.map((i): Json => ({ path: term(i.path), ...(i.alias ? { alias: i.alias } : {}) })) } : {}),
    ...(m.rules.length > 0 ? { rules: m.rules.map(rule) } : {}),
  };
}

export const regoBuiltins: BuiltinTable = {
  'rego.parse_module': (file, source) => fromJson(moduleJson(str(source), str(file))),
};
