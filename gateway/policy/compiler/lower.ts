/**
 * Lowers one rule definition (resolved, then safety-ordered) into a plan Def:
 * nested refs, calls and comprehensions are flattened into literals that bind
 * fresh slots, so every literal works on simple terms only.
 */
import { RegoError } from '../rego/ast.js';
import type { Body, Expr, Loc, Term, With } from '../rego/ast.js';
import { globalName, Resolver } from './resolve.js';
import type { ModuleScope, Resolution } from './resolve.js';
import { Safety } from './safety.js';
import { resolveCallee, staticNames } from './callees.js';
import type { HostBuiltins, ResolvedCallee } from './callees.js';
import type { GroupIndex, SourceRule } from './groups.js';
import type { Def, Lit, RefHead, STerm, WithTarget } from './ir.js';
import type { CoverageMarks } from './coverage.js';
import { rulePath } from '../rego/annotations.js';

export interface LowerContext {
  index: GroupIndex;
  host: HostBuiltins;
  scope: ModuleScope;
  /** Set when compiling for `policy test --coverage`. */
  coverage?: CoverageMarks;
}

const TRUE: STerm = ['c', true];

export function lowerDef(ctx: LowerContext, src: SourceRule): Def {
  const rule = src.rule;
  const bodies: Array<{ body: Body; value?: Term }> = [{ body: rule.body, ...(rule.head.value ? { value: rule.head.value } : {}) }];
  for (const e of rule.elses) bodies.push({ body: e.body, ...(e.value ? { value: e.value } : {}) });
  const res = new Resolver(ctx.scope).resolveRule(rule, bodies);
  return new DefLowering(ctx, res, ctx.coverage ? rulePath(src.module, rule).join('.') : '').def(src);
}

/** Whether a term is built from scalars only (no vars, refs, calls or comprehensions). */
export function isConstant(t: Term): boolean {
  switch (t.type) {
    case 'null': case 'boolean': case 'string': case 'number': return true;
    case 'array': case 'set': return t.items.every(isConstant);
    case 'object': return t.entries.every(([k, v]) => isConstant(k) && isConstant(v));
    default: return false;
  }
}

/** Lowers a `default` value, which must be a constant. */
export function lowerConstant(t: Term): STerm {
  switch (t.type) {
    case 'null': case 'boolean': case 'string': case 'number':
      return constantScalar(t);
    case 'array': return ['arr', t.items.map(lowerConstant)];
    case 'set': return ['set', t.items.map(lowerConstant)];
    case 'object': return ['obj', t.entries.map(([k, v]) => [lowerConstant(k), lowerConstant(v)])];
    default: throw new RegoError('rego_type_error', 'default rule value must be a constant', t.loc);
  }
}

function constantScalar(t: Term & { type: 'null' | 'boolean' | 'string' | 'number' }): STerm {
  if (t.type === 'null') return ['c', null];
  if (t.type !== 'number') return ['c', t.value];
  const n = Number(t.value);
  if (!Number.isFinite(n)) throw new RegoError('rego_parse_error', `number out of range: ${t.value}`, t.loc);
  return ['c', n];
}

class DefLowering {
  private nslots = 0;
  private readonly slots = new Map<string, number>();
  private readonly callees = new Map<Term, ResolvedCallee>();

  constructor(private readonly ctx: LowerContext, private readonly res: Resolution, private readonly ruleName: string) {}

  def(src: SourceRule): Def {
    const rule = src.rule;
    const safety = this.safety(0);
    const initial = new Set<string>();
    const params = rule.head.args?.map((a) => this.param(a, initial));
    const main = this.body(rule.body, initial, 0);
    const tail = (t: Term): STerm => {
      safety.requireBound(t, main.bound);
      return this.term(t, main.bound, 0, main.lits);
    };
    const keys = src.keys.map(tail);
    const valueTerm = rule.head.contains ?? rule.head.value;
    const value = valueTerm ? tail(valueTerm) : TRUE;
    this.markHead(main.lits, rule.loc);
    const elses = rule.elses.map((e) => {
      const b = this.body(e.body, initial, 0);
      if (e.value) safety.requireBound(e.value, b.bound);
      const elseValue = e.value ? this.term(e.value, b.bound, 0, b.lits) : TRUE;
      this.markHead(b.lits, e.loc);
      return { value: elseValue, body: b.lits };
    });
    return { nslots: this.nslots, ...(params ? { params } : {}), keys, value, body: main.lits, elses };
  }

  private param(t: Term, bound: Set<string>): STerm {
    const lits: Lit[] = [];
    const s = this.term(t, bound, 0, lits);
    if (lits.length > 0) throw new RegoError('rego_compile_error', 'function arguments must be variables or constants', t.loc);
    for (const id of this.slots.keys()) bound.add(id);
    return s;
  }

  private safety(depth: number): Safety {
    return new Safety(this.res, depth, (call) => {
      const c = this.callee(call);
      return c.arity >= 0 && call.args.length === c.arity + 1;
    });
  }

  private slot(id: string): number {
    let s = this.slots.get(id);
    if (s === undefined) {
      s = this.fresh();
      this.slots.set(id, s);
    }
    return s;
  }

  private fresh(): number {
    return this.nslots++;
  }

  private body(body: Body, initial: ReadonlySet<string>, depth: number): { lits: Lit[]; bound: Set<string> } {
    const { ordered, bound } = this.safety(depth).order(body, initial);
    const lits: Lit[] = [];
    for (const o of ordered) {
      if (this.ctx.coverage) lits.push(this.ctx.coverage.literal(this.ctx.host, this.ruleName, o.expr.loc, 'expr'));
      this.expr(o.expr, o.bound, depth, lits);
    }
    return { lits, bound };
  }

  /** With coverage: the head counts as covered once the body has produced the value. */
  private markHead(lits: Lit[], loc: Loc): void {
    if (this.ctx.coverage) lits.push(this.ctx.coverage.literal(this.ctx.host, this.ruleName, loc, 'head'));
  }

  private expr(e: Expr, bound: ReadonlySet<string>, depth: number, out: Lit[]): void {
    const targets = e.with.map((w) => this.withTarget(w, bound, depth, out));
    const underWith = (lits: Lit[]): Lit[] => (targets.length > 0 ? [['with', targets, lits]] : lits);
    if (e.negated) {
      const hoisted: Lit[] = [];
      const core: Lit[] = [];
      this.negatedCore(e, bound, depth, hoisted, core);
      if (hoisted.length > 0) out.push(...underWith(hoisted));
      out.push(['not', underWith(core)]);
      return;
    }
    const inner: Lit[] = targets.length > 0 ? [] : out;
    this.exprCore(e, bound, depth, inner);
    if (targets.length > 0) out.push(...underWith(inner));
  }

  /**
   * A negated expression as OPA's compiler rewrites it: the arguments of a
   * call, calls and composites inside operands, and the keys of refs are
   * evaluated before the `not`; only the expression itself (with its
   * top-level refs) is negated. So `not f(input.missing)` is undefined, not
   * true, as in OPA (open-policy-agent/opa#1877, #8387), while
   * `not input.missing` and `not input.a == input.b` are true.
   */
  private negatedCore(e: Expr, bound: ReadonlySet<string>, depth: number, hoisted: Lit[], core: Lit[]): void {
    const operand = (t: Term): STerm => (t.type === 'ref' ? this.refTerm(t, bound, depth, core, hoisted) : this.term(t, bound, depth, t.type === 'var' ? core : hoisted));
    switch (e.kind) {
      case 'term': {
        const t = e.term;
        if (t.type !== 'call') {
          core.push(['truthy', operand(t)]);
        } else if (this.callee(t).name === 'equal' && t.args.length === 2) {
          // `==` is unification for OPA's compiler: its operands stay under the `not`.
          core.push(['call', this.callee(t).callee, t.args.map(operand), -1]);
        } else {
          this.call(t, bound, depth, core, true, hoisted);
        }
        return;
      }
      case 'unify': case 'assign': {
        const l = operand(e.left);
        const r = operand(e.right);
        core.push(['unify', l, r]);
        return;
      }
      default: this.exprCore(e, bound, depth, core);
    }
  }

  private exprCore(e: Expr, bound: ReadonlySet<string>, depth: number, out: Lit[]): void {
    switch (e.kind) {
      case 'term':
        if (e.term.type === 'call') this.call(e.term, bound, depth, out, true);
        else out.push(['truthy', this.term(e.term, bound, depth, out)]);
        return;
      case 'unify': case 'assign': {
        const l = this.term(e.left, bound, depth, out);
        const r = this.term(e.right, bound, depth, out);
        out.push(['unify', l, r]);
        return;
      }
      case 'some-decl': return;
      case 'some-in': {
        const coll = this.term(e.collection, bound, depth, out);
        const key = e.key ? this.term(e.key, bound, depth, out) : null;
        out.push(['scan', coll, key, this.term(e.value, bound, depth, out)]);
        return;
      }
      case 'every': {
        const domain = this.term(e.domain, bound, depth, out);
        const pre: Lit[] = [];
        const innerBound = new Set(bound);
        const bind = (t: Term): number => {
          const lits: Lit[] = [];
          const s = this.term(t, innerBound, depth + 1, lits);
          for (const v of varIds(t, this.res)) innerBound.add(v);
          if (s[0] === 'v' && lits.length === 0) return s[1];
          const slot = this.fresh();
          pre.push(...lits, ['unify', s, ['v', slot]]);
          return slot;
        };
        const k = e.key ? bind(e.key) : -1;
        const v = bind(e.value);
        const body = this.body(e.body, innerBound, depth + 1);
        out.push(['every', domain, k, v, [...pre, ...body.lits]]);
        return;
      }
    }
  }

  private term(t: Term, bound: ReadonlySet<string>, depth: number, out: Lit[]): STerm {
    switch (t.type) {
      case 'null': case 'boolean': case 'string': case 'number': return constantScalar(t);
      case 'var': {
        const r = this.res.vars.get(t);
        if (r?.kind === 'local') return ['v', this.slot(r.id)];
        if (r?.kind === 'root') return this.ref(r.root, r.path.map((p): STerm => ['c', p]), out);
        throw new RegoError('rego_compile_error', `unresolved var ${t.name}`, t.loc);
      }
      case 'ref': return this.refTerm(t, bound, depth, out);
      case 'array': return ['arr', t.items.map((i) => this.term(i, bound, depth, out))];
      case 'set': return ['set', t.items.map((i) => this.term(i, bound, depth, out))];
      case 'object': return ['obj', t.entries.map(([k, v]) => [this.term(k, bound, depth, out), this.term(v, bound, depth, out)])];
      case 'call': return this.call(t, bound, depth, out, false);
      case 'arraycompr': case 'setcompr': case 'objectcompr': {
        const body = this.body(t.body, bound, depth + 1);
        const safety = this.safety(depth + 1);
        const heads = t.type === 'objectcompr' ? [t.key, t.value] : [t.head];
        for (const h of heads) safety.requireBound(h, body.bound);
        const lowered = heads.map((h) => this.term(h, body.bound, depth + 1, body.lits));
        const head: STerm = t.type === 'objectcompr' ? ['arr', lowered] : lowered[0]!;
        const o = this.fresh();
        out.push(['compr', t.type === 'arraycompr' ? 'array' : t.type === 'setcompr' ? 'set' : 'object', head, body.lits, o]);
        return ['v', o];
      }
    }
  }

  /** The ref's lookup goes to `out`; what its head and keys need first, to `keysOut` (see negatedCore). */
  private refTerm(t: Term & { type: 'ref' }, bound: ReadonlySet<string>, depth: number, out: Lit[], keysOut: Lit[] = out): STerm {
    // A composite key with unbound vars (`r[[1, x]]`) iterates a fresh slot, then matches it.
    const patterns: Array<[Term, number]> = [];
    const path = t.path.map((p): STerm => {
      if ((p.type === 'array' || p.type === 'object') && varIds(p, this.res).some((id) => !bound.has(id))) {
        const slot = this.fresh();
        patterns.push([p, slot]);
        return ['v', slot];
      }
      return this.term(p, bound, depth, keysOut);
    });
    let result: STerm | undefined;
    if (t.head.type === 'var') {
      const r = this.res.vars.get(t.head);
      if (r?.kind === 'root') result = this.ref(r.root, [...r.path.map((p): STerm => ['c', p]), ...path], out);
    }
    if (!result) {
      const head = this.term(t.head, bound, depth, keysOut);
      const o = this.fresh();
      out.push(['ref', ['t', head], path, o]);
      result = ['v', o];
    }
    for (const [p, slot] of patterns) out.push(['unify', this.term(p, bound, depth, out), ['v', slot]]);
    return result;
  }

  /** A ref into input or data; a static data prefix naming a rule group starts at that group. */
  private ref(root: 'input' | 'data', path: STerm[], out: Lit[]): STerm {
    let head: RefHead = [root];
    let rest = path;
    if (root === 'data') {
      let node = this.ctx.index.tree;
      for (let i = 0; i < path.length; i++) {
        const p = path[i]!;
        if (p[0] !== 'c' || typeof p[1] !== 'string') break;
        const next = node.c?.[p[1]];
        if (!next) break;
        node = next;
        if (node.g !== undefined && !node.c) {
          const group = this.ctx.index.groups[node.g]!;
          if (group.kind === 'function') throw new RegoError('rego_type_error', `function ${['data', ...group.path].join('.')} used as a value`);
          head = ['rule', node.g];
          rest = path.slice(i + 1);
          break;
        }
      }
    }
    const o = this.fresh();
    out.push(['ref', head, rest, o]);
    return ['v', o];
  }

  private callee(call: Term & { type: 'call' }): ResolvedCallee {
    let c = this.callees.get(call);
    if (!c) {
      c = resolveCallee(call.fn, this.ctx.scope, this.ctx.index, this.ctx.host);
      if (!c) throw new RegoError('rego_type_error', `undefined function ${staticNames(call.fn)?.join('.') ?? '(dynamic)'}`, call.loc);
      this.callees.set(call, c);
    }
    return c;
  }

  /** The call goes to `out`; what its arguments need first, to `argsOut` (see negatedCore). */
  private call(t: Term & { type: 'call' }, bound: ReadonlySet<string>, depth: number, out: Lit[], isExpr: boolean, argsOut: Lit[] = out): STerm {
    const c = this.callee(t);
    const relation = c.arity >= 0 && t.args.length === c.arity + 1;
    if (c.arity >= 0 && !relation && t.args.length !== c.arity) {
      throw new RegoError('rego_type_error', `${c.name}: arity mismatch: expected ${c.arity} arguments, got ${t.args.length}`, t.loc);
    }
    if (relation && !isExpr) throw new RegoError('rego_type_error', `${c.name}: too many arguments: expected ${c.arity}`, t.loc);
    const args = (relation ? t.args.slice(0, -1) : t.args).map((a) => this.term(a, bound, depth, argsOut));
    if (isExpr && !relation) {
      out.push(['call', c.callee, args, -1]);
      return TRUE;
    }
    const o = this.fresh();
    out.push(['call', c.callee, args, o]);
    let result: STerm = ['v', o];
    if (c.name === 'walk') {
      // walk is a relation: the host returns every [path, value] pair; iterate them.
      const entry = this.fresh();
      out.push(['ref', ['t', result], [['v', this.fresh()]], entry]);
      result = ['v', entry];
    }
    if (!relation) return result;
    out.push(['unify', this.term(t.args[t.args.length - 1]!, bound, depth, argsOut), result]);
    return TRUE;
  }

  private withTarget(w: With, bound: ReadonlySet<string>, depth: number, out: Lit[]): WithTarget {
    const names = staticNames(w.target);
    if (!names) throw new RegoError('rego_type_error', 'with keyword target must be a reference to input, data or a function', w.target.loc);
    const [first, ...rest] = names as [string, ...string[]];
    const fn = resolveCallee(w.target, this.ctx.scope, this.ctx.index, this.ctx.host);
    if (fn) {
      const replacement = this.replacementFunction(w.value);
      return replacement ? ['fn', fn.callee, replacement.callee] : ['fnval', fn.callee, this.term(w.value, bound, depth, out)];
    }
    const root = globalName(this.ctx.scope, first);
    if (!root || (root.root === 'data' && root.path.length === 0 && rest.length === 0)) {
      throw new RegoError('rego_type_error', `with keyword target must reference existing input, data, or a function: ${names.join('.')}`, w.target.loc);
    }
    const value = this.term(w.value, bound, depth, out);
    return [root.root, [...root.path, ...rest], value];
  }

  /** A `with` value the resolver left unresolved names the replacement function. */
  private replacementFunction(value: Term): ResolvedCallee | undefined {
    const head = value.type === 'ref' ? value.head : value;
    if (head.type !== 'var' || this.res.vars.has(head)) return undefined;
    return resolveCallee(value, this.ctx.scope, this.ctx.index, this.ctx.host);
  }
}

function varIds(t: Term, res: Resolution): string[] {
  const ids: string[] = [];
  const visit = (x: Term): void => {
    if (x.type === 'var') {
      const r = res.vars.get(x);
      if (r?.kind === 'local') ids.push(r.id);
    } else if (x.type === 'array') x.items.forEach(visit);
    else if (x.type === 'object') x.entries.forEach(([, v]) => visit(v));
  };
  visit(t);
  return ids;
}
