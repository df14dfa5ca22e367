/**
 * Deep traversal of a rule's terms, nested bodies included (comprehensions,
 * `every`, else branches, `with` values): for rewrites of the tree before
 * planning and for checks that look at every name.
 */
import type { Body, Expr, Rule, Term } from './ast.js';

/** Calls `replace` on every term, outermost first; a term it returns takes the place of the one given (and is not descended into). */
export function rewriteRuleTerms(rule: Rule, replace: (t: Term) => Term | undefined, onExpr?: (e: Expr) => void): void {
  const h = rule.head;
  const m = (t: Term): Term => mapTerm(t, replace, onExpr);
  h.ref = m(h.ref);
  if (h.args) h.args = h.args.map(m);
  if (h.contains) h.contains = m(h.contains);
  if (h.value) h.value = m(h.value);
  mapBody(rule.body, replace, onExpr);
  for (const e of rule.elses) {
    if (e.value) e.value = m(e.value);
    mapBody(e.body, replace, onExpr);
  }
}

/** Visits every term and every expression of a rule, nested ones included. */
export function forEachRuleNode(rule: Rule, visit: { term?: (t: Term) => void; expr?: (e: Expr) => void }): void {
  rewriteRuleTerms(rule, (t) => {
    visit.term?.(t);
    return undefined;
  }, visit.expr);
}

function mapBody(body: Body, replace: (t: Term) => Term | undefined, onExpr?: (e: Expr) => void): void {
  body.forEach((e) => mapExpr(e, replace, onExpr));
}

function mapExpr(e: Expr, replace: (t: Term) => Term | undefined, onExpr?: (e: Expr) => void): void {
  onExpr?.(e);
  const m = (t: Term): Term => mapTerm(t, replace, onExpr);
  switch (e.kind) {
    case 'term': e.term = m(e.term); break;
    case 'unify': case 'assign': e.left = m(e.left); e.right = m(e.right); break;
    case 'some-decl': break;
    case 'some-in': if (e.key) e.key = m(e.key); e.value = m(e.value); e.collection = m(e.collection); break;
    case 'every':
      if (e.key) e.key = m(e.key);
      e.value = m(e.value);
      e.domain = m(e.domain);
      mapBody(e.body, replace, onExpr);
      break;
  }
  for (const w of e.with) {
    w.target = m(w.target);
    w.value = m(w.value);
  }
}

function mapTerm(t: Term, replace: (t: Term) => Term | undefined, onExpr?: (e: Expr) => void): Term {
  const replaced = replace(t);
  if (replaced !== undefined) return replaced;
  const m = (x: Term): Term => mapTerm(x, replace, onExpr);
  switch (t.type) {
    case 'ref': t.head = m(t.head); t.path = t.path.map(m); break;
    case 'array': case 'set': t.items = t.items.map(m); break;
    case 'object': t.entries = t.entries.map(([k, v]) => [m(k), m(v)]); break;
    case 'call': t.fn = m(t.fn); t.args = t.args.map(m); break;
    case 'arraycompr': case 'setcompr': t.head = m(t.head); mapBody(t.body, replace, onExpr); break;
    case 'objectcompr': t.key = m(t.key); t.value = m(t.value); mapBody(t.body, replace, onExpr); break;
    default: break;
  }
  return t;
}
