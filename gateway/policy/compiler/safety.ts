/**
 * Safety ordering (OPA's reorderBodyForSafety): puts the expressions of a body
 * in an order in which every variable is bound before it is read, keeping
 * source order where possible, and reports variables that can never be bound.
 */
import { RegoError } from '../rego/ast.js';
import type { Body, Expr, Loc, Term } from '../rego/ast.js';
import { exprTerms, visitTerm } from './resolve.js';
import type { Resolution } from './resolve.js';

export interface Ordered {
  expr: Expr;
  /** Variables bound before this expression runs. */
  bound: ReadonlySet<string>;
}

type VarTerm = Term & { type: 'var' };

/** Calls `onVar` for every var in `t`, nested bodies included. */
function deepVars(t: Term, onVar: (v: VarTerm) => void): void {
  visitTerm(t, onVar, (c) => {
    if (c.type === 'objectcompr') { deepVars(c.key, onVar); deepVars(c.value, onVar); }
    else if (c.type === 'arraycompr' || c.type === 'setcompr') deepVars(c.head, onVar);
    if (c.type === 'arraycompr' || c.type === 'setcompr' || c.type === 'objectcompr') for (const e of c.body) deepExprVars(e, onVar);
  });
}

function deepExprVars(e: Expr, onVar: (v: VarTerm) => void): void {
  for (const t of exprTerms(e)) deepVars(t, onVar);
  for (const w of e.with) deepVars(w.value, onVar);
  if (e.kind === 'every') {
    if (e.key) deepVars(e.key, onVar);
    deepVars(e.value, onVar);
    for (const x of e.body) deepExprVars(x, onVar);
  }
}

export class Safety {
  constructor(
    private readonly res: Resolution,
    /** Depth of the body being ordered. */
    private readonly depth: number,
    /** True when the call's last argument is an output (`count(x, n)`). */
    private readonly isRelation: (call: Term & { type: 'call' }) => boolean,
  ) {}

  order(body: Body, initial: ReadonlySet<string>): { ordered: Ordered[]; bound: Set<string> } {
    const bound = new Set(initial);
    let remaining: Expr[] = body.filter((e) => e.kind !== 'some-decl');
    const ordered: Ordered[] = [];
    let progress = true;
    while (remaining.length > 0 && progress) {
      progress = false;
      const next: Expr[] = [];
      for (const e of remaining) {
        const out = this.exprReady(e, bound);
        if (out) {
          ordered.push({ expr: e, bound: new Set(bound) });
          for (const v of out) bound.add(v);
          progress = true;
        } else next.push(e);
      }
      remaining = next;
    }
    if (remaining.length > 0) this.reportUnsafe(remaining, bound);
    return { ordered, bound };
  }

  /** Throws unless every var `t` reads is bound (refs may still iterate). */
  requireBound(t: Term, bound: ReadonlySet<string>): void {
    if (!this.evalReady(t, bound, new Set())) this.reportUnsafeTerms([t], bound);
  }

  private reportUnsafe(exprs: Expr[], bound: ReadonlySet<string>): never {
    const unsafe: Array<{ name: string; loc: Loc }> = [];
    for (const e of exprs) deepExprVars(e, (v) => this.collectUnsafe(v, bound, unsafe));
    throw unsafeError(unsafe, exprs[0]?.loc);
  }

  private reportUnsafeTerms(terms: Term[], bound: ReadonlySet<string>): never {
    const unsafe: Array<{ name: string; loc: Loc }> = [];
    for (const t of terms) deepVars(t, (v) => this.collectUnsafe(v, bound, unsafe));
    throw unsafeError(unsafe, terms[0]?.loc);
  }

  private collectUnsafe(v: VarTerm, bound: ReadonlySet<string>, into: Array<{ name: string; loc: Loc }>): void {
    const r = this.res.vars.get(v);
    if (r?.kind === 'local' && r.frame.depth <= this.depth && !bound.has(r.id)) into.push({ name: r.name, loc: v.loc });
  }

  private local(t: Term): string | undefined {
    if (t.type !== 'var') return undefined;
    const r = this.res.vars.get(t);
    return r?.kind === 'local' ? r.id : undefined;
  }

  private exprReady(e: Expr, bound: ReadonlySet<string>): Set<string> | null {
    const out = new Set<string>();
    let scope = bound;
    if (e.negated) {
      // Every named var of a negated expression must be bound outside it; wildcards are local.
      const local = new Set(bound);
      let ok = true;
      for (const t of exprTerms(e)) visitTerm(t, (v) => {
        const id = this.local(v);
        if (id === undefined) return;
        if (v.name === '_') local.add(id);
        else if (!bound.has(id)) ok = false;
      }, () => undefined);
      if (!ok) return null;
      scope = local;
    }
    for (const w of e.with) if (!this.evalReady(w.value, scope, out)) return null;
    if (!this.kindReady(e, scope, out)) return null;
    return e.negated ? new Set() : out;
  }

  private kindReady(e: Expr, b: ReadonlySet<string>, out: Set<string>): boolean {
    switch (e.kind) {
      case 'term':
        if (e.term.type === 'call' && this.isRelation(e.term)) {
          const args = e.term.args;
          return args.slice(0, -1).every((a) => this.evalReady(a, b, out)) && this.patternReady(args[args.length - 1]!, b, out);
        }
        return this.evalReady(e.term, b, out);
      case 'unify': return this.unifyReady(e.left, e.right, b, out);
      case 'assign': return this.evalReady(e.right, b, out) && this.patternReady(e.left, b, out);
      case 'some-decl': return true;
      case 'some-in':
        return this.evalReady(e.collection, b, out) && (!e.key || this.patternReady(e.key, b, out)) && this.patternReady(e.value, b, out);
      case 'every': {
        if (!this.evalReady(e.domain, b, out)) return false;
        let ok = true;
        for (const x of e.body) deepExprVars(x, (v) => { if (!this.capturedBound(v, b, out)) ok = false; });
        return ok;
      }
    }
  }

  private bound(id: string, b: ReadonlySet<string>, out: Set<string>): boolean {
    return b.has(id) || out.has(id);
  }

  private capturedBound(v: VarTerm, b: ReadonlySet<string>, out: Set<string>): boolean {
    const r = this.res.vars.get(v);
    return r?.kind !== 'local' || r.frame.depth > this.depth || this.bound(r.id, b, out);
  }

  private unifyReady(l: Term, r: Term, b: ReadonlySet<string>, out: Set<string>): boolean {
    const pairs = structuralPairs(l, r);
    if (pairs) {
      let pending = pairs;
      let progress = true;
      while (pending.length > 0 && progress) {
        progress = false;
        pending = pending.filter(([x, y]) => {
          if (!this.unifyReady(x, y, b, out)) return true;
          progress = true;
          return false;
        });
      }
      return pending.length === 0;
    }
    for (const [x, y] of [[l, r], [r, l]] as const) {
      const tmp = new Set(out);
      if (this.evalReady(x, b, tmp) && this.patternReady(y, b, tmp)) {
        for (const v of tmp) out.add(v);
        return true;
      }
    }
    return false;
  }

  private allReady(terms: Term[], b: ReadonlySet<string>, out: Set<string>): boolean {
    for (const t of terms) this.evalReady(t, b, out);
    return terms.every((t) => this.evalReady(t, b, out));
  }

  /** Can `t` be matched against a value, binding its unbound vars? */
  private patternReady(t: Term, b: ReadonlySet<string>, out: Set<string>): boolean {
    const id = this.local(t);
    if (id !== undefined) { out.add(id); return true; }
    if (t.type === 'array') return t.items.every((i) => this.patternReady(i, b, out));
    if (t.type === 'object') return t.entries.every(([k, v]) => this.evalReady(k, b, out) && this.patternReady(v, b, out));
    return this.evalReady(t, b, out);
  }

  /** Can `t` be evaluated? Unbound vars in ref paths iterate and are added to `out`. */
  private evalReady(t: Term, b: ReadonlySet<string>, out: Set<string>): boolean {
    switch (t.type) {
      case 'var': {
        const id = this.local(t);
        return id === undefined || this.bound(id, b, out);
      }
      case 'ref': {
        if (!this.evalReady(t.head, b, out)) return false;
        for (const p of t.path) {
          const id = this.local(p);
          if (id !== undefined && !this.bound(id, b, out)) out.add(id);
          // A composite key with unbound vars iterates and is matched against each key.
          else if (p.type === 'array' || p.type === 'object') { if (!this.patternReady(p, b, out)) return false; }
          else if (!this.evalReady(p, b, out)) return false;
        }
        return true;
      }
      // Refs in any part may bind vars read by another part: refs are evaluated first.
      case 'array': case 'set': return this.allReady(t.items, b, out);
      case 'object': return this.allReady(t.entries.flat(), b, out);
      case 'call': return this.allReady(t.args, b, out);
      case 'arraycompr': case 'setcompr': case 'objectcompr': {
        let ok = true;
        deepVars(t, (v) => { if (!this.capturedBound(v, b, out)) ok = false; });
        return ok;
      }
      default: return true;
    }
  }
}

/** Element pairs of two arrays of equal length or two objects with the same constant keys. */
function structuralPairs(l: Term, r: Term): Array<readonly [Term, Term]> | undefined {
  if (l.type === 'array' && r.type === 'array' && l.items.length === r.items.length) return l.items.map((x, i) => [x, r.items[i]!] as const);
  if (l.type !== 'object' || r.type !== 'object' || l.entries.length !== r.entries.length) return undefined;
  const key = (t: Term): string | undefined => (t.type === 'string' || t.type === 'number' || t.type === 'boolean' ? `${t.type}:${String(t.value)}` : t.type === 'null' ? 'null' : undefined);
  const right = new Map<string, Term>();
  for (const [k, v] of r.entries) {
    const rk = key(k);
    if (rk === undefined) return undefined;
    right.set(rk, v);
  }
  const pairs: Array<readonly [Term, Term]> = [];
  for (const [k, v] of l.entries) {
    const lk = key(k);
    const rv = lk === undefined ? undefined : right.get(lk);
    if (!rv) return undefined;
    pairs.push([v, rv]);
  }
  return pairs;
}

function unsafeError(unsafe: Array<{ name: string; loc: Loc }>, fallback: Loc | undefined): RegoError {
  const first = unsafe[0];
  if (!first) return new RegoError('rego_unsafe_var_error', 'expression is unsafe', fallback);
  const names = [...new Set(unsafe.map((u) => u.name))];
  return new RegoError('rego_unsafe_var_error', `var ${names.join(', ')} is unsafe`, first.loc);
}
