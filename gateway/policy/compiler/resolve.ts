/**
 * Name resolution for one rule: decides, for every var occurrence, whether it
 * is a local variable (and of which body scope) or a root document (`input`,
 * `data`, a rule of the package, an import). Lexical, so independent of the
 * order in which the body is later evaluated.
 */
import { RegoError } from '../rego/ast.js';
import type { Body, Expr, Loc, Rule, Term } from '../rego/ast.js';
import { staticNames } from './callees.js';

/** A body scope: the rule's own (depth 0) or a comprehension / `every` body. */
export interface Frame {
  depth: number;
  parent?: Frame;
  /** Name → var id: declared here (`some`, `:=`, `some ... in`, `every`, params) or resolved to this scope. */
  declared: Map<string, string>;
  /** Names occurring directly in this body (not in nested bodies). */
  top: Set<string>;
  /** Where names were declared with `:=`: nested bodies before that point do not see them. */
  assignedAt: Map<string, Position>;
  /** Where this nested body sits in its parent; undefined in rule heads (sees everything). */
  parentPos?: Position;
}

export interface Position {
  body: Body;
  index: number;
}

export type VarRes =
  | { kind: 'local'; id: string; name: string; frame: Frame }
  | { kind: 'root'; root: 'input' | 'data'; path: string[] };

export interface RootPath {
  root: 'input' | 'data';
  path: string[];
}

/** What the resolver needs to know about the module around the rule. */
export interface ModuleScope {
  package: string[];
  /** Import aliases (explicit or last segment) → the imported document. */
  imports: Map<string, RootPath>;
  /** First names of the rules defined in the package (any module). */
  ruleNames: Set<string>;
  /** Whether static names (`f`, `lib.f`, `count`) call a function. */
  isFunction(names: string[]): boolean;
}

export interface Resolution {
  vars: Map<Term, VarRes>;
}

export function globalName(scope: ModuleScope, name: string): RootPath | undefined {
  if (name === 'input') return { root: 'input', path: [] };
  if (name === 'data') return { root: 'data', path: [] };
  const imported = scope.imports.get(name);
  if (imported) return imported;
  if (scope.ruleNames.has(name)) return { root: 'data', path: [...scope.package, name] };
  return undefined;
}

/** Calls every var term directly in `t`, not descending into nested bodies; `onBody` gets those. */
export function visitTerm(t: Term, onVar: (v: Term & { type: 'var' }) => void, onBody: (t: Term) => void): void {
  switch (t.type) {
    case 'var': onVar(t); return;
    case 'ref': visitTerm(t.head, onVar, onBody); for (const p of t.path) visitTerm(p, onVar, onBody); return;
    case 'array': case 'set': for (const i of t.items) visitTerm(i, onVar, onBody); return;
    case 'object': for (const [k, v] of t.entries) { visitTerm(k, onVar, onBody); visitTerm(v, onVar, onBody); } return;
    // The function name is not a variable.
    case 'call': for (const a of t.args) visitTerm(a, onVar, onBody); return;
    case 'arraycompr': case 'setcompr': case 'objectcompr': onBody(t); return;
    default: return;
  }
}

/** Terms of an expression evaluated in the expression's own scope (not nested bodies). */
export function exprTerms(e: Expr): Term[] {
  const terms: Term[] = [];
  switch (e.kind) {
    case 'term': terms.push(e.term); break;
    case 'unify': case 'assign': terms.push(e.left, e.right); break;
    case 'some-decl': break;
    case 'some-in': if (e.key) terms.push(e.key); terms.push(e.value, e.collection); break;
    case 'every': terms.push(e.domain); break;
  }
  return terms;
}

function patternVars(t: Term, out: Array<Term & { type: 'var' }>): void {
  visitTerm(t, (v) => out.push(v), () => undefined);
}

export class Resolver {
  private readonly vars = new Map<Term, VarRes>();
  /** `some x` declarations of the rule: OPA refuses one whose var is never used. */
  private readonly someDecls: Array<{ id: string; name: string; loc: Loc }> = [];
  /** Makes ids of nested-scope vars and wildcards unique within the rule. */
  private nextId = 0;

  constructor(private readonly scope: ModuleScope) {}

  resolveRule(rule: Rule, bodies: Array<{ body: Body; value?: Term }>): Resolution {
    const frame: Frame = { depth: 0, declared: new Map(), top: new Set(), assignedAt: new Map() };
    const headTerms: Term[] = [];
    const ref = rule.head.ref;
    if (ref.type === 'ref') headTerms.push(...ref.path);
    if (rule.head.args) headTerms.push(...rule.head.args);
    if (rule.head.contains) headTerms.push(rule.head.contains);
    for (const b of bodies) if (b.value) headTerms.push(b.value);
    // Function parameters are declared: they shadow rules of the same name.
    for (const a of rule.head.args ?? []) {
      const vs: Array<Term & { type: 'var' }> = [];
      patternVars(a, vs);
      for (const v of vs) if (v.name !== '_') frame.declared.set(v.name, v.name);
    }
    for (const b of bodies) this.collectScope(b.body, frame);
    for (const t of headTerms) visitTerm(t, (v) => frame.top.add(v.name), () => undefined);
    for (const t of headTerms) this.resolveTerm(t, frame);
    for (const b of bodies) this.resolveBody(b.body, frame);
    this.refuseUnusedSomeDecls();
    return { vars: this.vars };
  }

  private refuseUnusedSomeDecls(): void {
    const used = new Set<string>();
    for (const r of this.vars.values()) if (r.kind === 'local') used.add(r.id);
    for (const d of this.someDecls) {
      if (!used.has(d.id)) throw new RegoError('rego_compile_error', `declared var ${d.name} unused`, d.loc);
    }
  }

  /** Records declarations and top-level names of `body` into `frame`, checking `:=` rules. */
  private collectScope(body: Body, frame: Frame): void {
    const seen = new Set<string>();
    const assigned = new Set<string>();
    const declare = (name: string): void => {
      if (name !== '_') frame.declared.set(name, this.newId(name, frame));
    };
    for (const [index, e] of body.entries()) {
      if (e.kind === 'some-decl') {
        for (const v of e.vars) {
          declare(v.name);
          assigned.add(v.name);
          const id = frame.declared.get(v.name);
          if (id !== undefined) this.someDecls.push({ id, name: v.name, loc: v.loc });
        }
      }
      if (e.kind === 'some-in') {
        const vs: Array<Term & { type: 'var' }> = [];
        if (e.key) patternVars(e.key, vs);
        patternVars(e.value, vs);
        for (const v of vs) declare(v.name);
      }
      if (e.kind === 'assign') {
        if (e.left.type === 'ref') throw new RegoError('rego_compile_error', 'cannot assign to ref', e.left.loc);
        const vs: Array<Term & { type: 'var' }> = [];
        patternVars(e.left, vs);
        for (const v of vs) {
          if (v.name === '_') continue;
          if (v.name === 'input' || v.name === 'data') throw new RegoError('rego_compile_error', `cannot assign to ${v.name}`, v.loc);
          if (assigned.has(v.name)) throw new RegoError('rego_compile_error', `var ${v.name} assigned above`, v.loc);
          if (seen.has(v.name)) throw new RegoError('rego_compile_error', `var ${v.name} referenced above`, v.loc);
          assigned.add(v.name);
          frame.assignedAt.set(v.name, { body, index });
          declare(v.name);
        }
      }
      for (const t of [...exprTerms(e), ...e.with.map((w) => w.value)]) {
        visitTerm(t, (v) => { seen.add(v.name); frame.top.add(v.name); }, () => undefined);
      }
    }
  }

  private resolveBody(body: Body, frame: Frame): void {
    for (const [index, e] of body.entries()) {
      const pos = { body, index };
      for (const t of exprTerms(e)) this.resolveTerm(t, frame, pos);
      // A `with` value naming a function (`with f as g`) is not a variable.
      for (const w of e.with) if (!this.namesFunction(w.value, frame)) this.resolveTerm(w.value, frame, pos);
      if (e.kind === 'every') {
        const inner: Frame = { depth: frame.depth + 1, parent: frame, declared: new Map(), top: new Set(), assignedAt: new Map(), parentPos: pos };
        const vs: Array<Term & { type: 'var' }> = [];
        if (e.key) patternVars(e.key, vs);
        patternVars(e.value, vs);
        for (const v of vs) if (v.name !== '_') inner.declared.set(v.name, this.newId(v.name, inner));
        this.collectScope(e.body, inner);
        if (e.key) this.resolveTerm(e.key, inner);
        this.resolveTerm(e.value, inner);
        this.resolveBody(e.body, inner);
      }
    }
  }

  private namesFunction(t: Term, frame: Frame): boolean {
    const names = staticNames(t);
    if (!names || !this.scope.isFunction(names)) return false;
    for (let f: Frame | undefined = frame; f; f = f.parent) if (f.declared.has(names[0]!)) return false;
    return true;
  }

  private resolveTerm(t: Term, frame: Frame, pos?: Position): void {
    visitTerm(t, (v) => this.vars.set(v, this.resolveName(v.name, frame)), (c) => {
      if (c.type !== 'arraycompr' && c.type !== 'setcompr' && c.type !== 'objectcompr') return;
      const inner: Frame = { depth: frame.depth + 1, parent: frame, declared: new Map(), top: new Set(), assignedAt: new Map(), ...(pos ? { parentPos: pos } : {}) };
      this.collectScope(c.body, inner);
      const heads = c.type === 'objectcompr' ? [c.key, c.value] : [c.head];
      for (const h of heads) visitTerm(h, (v) => inner.top.add(v.name), () => undefined);
      for (const h of heads) this.resolveTerm(h, inner);
      this.resolveBody(c.body, inner);
    });
  }

  private resolveName(name: string, frame: Frame): VarRes {
    if (name === '_') return { kind: 'local', id: `_'${this.nextId++}`, name: '_', frame };
    const here = frame.declared.get(name);
    if (here !== undefined) return { kind: 'local', id: here, name, frame };
    for (let f = frame.parent, pos = frame.parentPos; f; pos = f.parentPos, f = f.parent) {
      const assigned = f.assignedAt.get(name);
      if (assigned && pos && assigned.body === pos.body && pos.index <= assigned.index) break;
      const declared = f.declared.get(name);
      if (declared !== undefined) return { kind: 'local', id: declared, name, frame: f };
      if (f.top.has(name)) {
        const global = globalName(this.scope, name);
        if (global) return { kind: 'root', ...global };
        return { kind: 'local', id: this.localId(name, f), name, frame: f };
      }
    }
    const global = globalName(this.scope, name);
    if (global) return { kind: 'root', ...global };
    return { kind: 'local', id: this.localId(name, frame), name, frame };
  }

  /** The id of an undeclared var owned by `frame`, created on first use. */
  private localId(name: string, frame: Frame): string {
    const existing = frame.declared.get(name);
    if (existing !== undefined) return existing;
    const id = this.newId(name, frame);
    frame.declared.set(name, id);
    return id;
  }

  /** Rule-scope vars keep their name; nested-scope vars get a unique suffix so sibling scopes never share one. */
  private newId(name: string, frame: Frame): string {
    return frame.depth === 0 ? name : `${name}'${this.nextId++}`;
  }
}
