/**
 * Canonical formatting of a Rego module, like `opa fmt`: the module is parsed
 * and printed again from its syntax tree, so the output parses to the same
 * tree. Layout rules:
 * - tabs; one blank line after `package` and after the imports; a blank line
 *   between rules wherever the source had one and around every rule that
 *   takes more than one line;
 * - a rule body is a braced block, one expression a line, except a single
 *   expression written on the head's line (`allow if input.admin`);
 * - a composite literal, argument list or comprehension stays on one line
 *   unless its items were written on several lines, then it takes one item
 *   a line with a trailing comma;
 * - operators are written infix with single spaces, parentheses only where
 *   precedence needs them; `in`, `contains`, `if`, `:=` as in Rego v1;
 * - comments are kept, each on its own line or after the code it followed;
 *   blank lines inside bodies survive (one at most).
 * Formatting is a fixed point: formatting the output again changes nothing.
 */
import type { Body, Expr, Import, Loc, Module, Rule, Term } from './ast.js';
import type { Comment } from './lexer.js';
import { parseModule } from './parser.js';

/** Formats Rego source; throws RegoError (with file:line:col) when it does not parse. */
export function formatModule(source: string, file: string): string {
  return new Printer(source, parseModule(source, file)).module();
}

/** Infix operators by built-in name: their text and precedence (higher binds tighter), as the parser reads them. */
const INFIX: ReadonlyMap<string, { op: string; prec: number }> = new Map([
  ['equal', { op: '==', prec: 1 }], ['neq', { op: '!=', prec: 1 }], ['lt', { op: '<', prec: 1 }],
  ['lte', { op: '<=', prec: 1 }], ['gt', { op: '>', prec: 1 }], ['gte', { op: '>=', prec: 1 }],
  ['or', { op: '|', prec: 2 }], ['and', { op: '&', prec: 3 }],
  ['plus', { op: '+', prec: 4 }], ['minus', { op: '-', prec: 4 }],
  ['mul', { op: '*', prec: 5 }], ['div', { op: '/', prec: 5 }], ['rem', { op: '%', prec: 5 }],
]);

/** `in` binds loosest; a plain term tightest. */
const PREC_IN = 0;
const PREC_ATOM = 6;
/** A comprehension head is read with operators binding at least this tight (parser: COMPREHENSION_HEAD_PREC). */
const PREC_COMPREHENSION_HEAD = 3;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Operation =
  | { kind: 'infix'; op: string; prec: number; left: Term; right: Term }
  | { kind: 'unary-minus'; operand: Term }
  | { kind: 'member'; key?: Term; value: Term; collection: Term };

/** The built-in name of a call's function, when it is one the parser desugared an operator into. */
function callName(t: Term & { type: 'call' }): string | undefined {
  const fn = t.fn;
  if (fn.type === 'var') return fn.name;
  if (fn.type === 'ref' && fn.head.type === 'var' && fn.head.name === 'internal' && fn.path.length === 1 && fn.path[0]?.type === 'string') return `internal.${fn.path[0].value}`;
  return undefined;
}

function sameLoc(a: Loc, b: Loc): boolean {
  return a.line === b.line && a.col === b.col;
}

/** The operator a call was written with, if any (`a + b`, `-x`, `x in xs`, `k, v in xs`). */
function operation(t: Term): Operation | undefined {
  if (t.type !== 'call') return undefined;
  const name = callName(t);
  const [a, b, c] = t.args;
  if (name === 'internal.member_2' && a && b && !c) return { kind: 'member', value: a, collection: b };
  if (name === 'internal.member_3' && a && b && c) return { kind: 'member', key: a, value: b, collection: c };
  const infix = name === undefined ? undefined : INFIX.get(name);
  if (infix === undefined || !a || !b || c) return undefined;
  // The parser writes `-x` as minus(0, x) with the `0` placed at the operator itself.
  if (name === 'minus' && a.type === 'number' && a.value === '0' && sameLoc(a.loc, t.fn.loc)) return { kind: 'unary-minus', operand: b };
  return { kind: 'infix', ...infix, left: a, right: b };
}

function precedence(t: Term): number {
  const o = operation(t);
  if (o === undefined || o.kind === 'unary-minus') return PREC_ATOM;
  return o.kind === 'member' ? PREC_IN : o.prec;
}

/** Whether the text of `e` would start with `{` (then `if` needs braces around it). */
function startsWithBrace(e: Expr): boolean {
  if (e.negated) return false;
  const first = e.kind === 'term' ? e.term : e.kind === 'unify' || e.kind === 'assign' ? e.left : undefined;
  for (let t = first; t !== undefined;) {
    if (t.type === 'set' || t.type === 'object' || t.type === 'setcompr' || t.type === 'objectcompr') return true;
    const o = operation(t);
    if (o?.kind === 'infix') t = o.left;
    else if (o?.kind === 'member') t = o.key ?? o.value;
    else if (t.type === 'ref') t = t.head;
    else return false;
  }
  return false;
}

/** Where a term stands, for parentheses: the least precedence it may have unparenthesised. */
interface Slot {
  minPrec: number;
  /** A comma would separate list items here, so `k, v in xs` needs parentheses. */
  list: boolean;
}

const ANY: Slot = { minPrec: PREC_IN, list: false };
const ITEM: Slot = { minPrec: PREC_IN, list: true };

class Printer {
  private readonly lines: string[] = [];
  private cur = '';
  private indent = 0;
  private nextComment = 0;
  /** Source line of what was printed last: a blank source line after it is kept. */
  private lastLine = 0;
  private readonly comments: Comment[];
  private readonly sourceLines: string[];

  constructor(source: string, private readonly ast: Module) {
    this.comments = ast.comments ?? [];
    this.sourceLines = source.split('\n');
  }

  module(): string {
    const m = this.ast;
    const pkgLine = m.packageLoc?.line ?? 1;
    this.flush(pkgLine, true);
    this.startLine();
    this.write(`package ${this.pathText(m.package)}`);
    this.flushTrailing(pkgLine);
    this.lastLine = pkgLine;
    if (m.imports.length > 0) this.blank();
    for (const imp of m.imports) this.importDecl(imp);
    let previousSpans = true;
    for (const rule of m.rules) {
      // Leading comments stick to their rule: the blank line goes before them.
      const lead = Math.min(this.comments[this.nextComment]?.line ?? rule.loc.line, rule.loc.line);
      if (this.gap(this.lastLine, lead)) this.blank();
      this.endLine();
      const start = this.lines.length;
      this.flush(rule.loc.line, true);
      if (lead !== rule.loc.line && this.gap(this.lastLine, rule.loc.line)) this.blank();
      this.endLine();
      const ruleStart = this.lines.length;
      this.rule(rule);
      this.flush((rule.endLine ?? rule.loc.line) + 1);
      this.endLine();
      const spans = this.lines.length - ruleStart > 1;
      if ((spans || previousSpans) && start > 0 && this.lines[start - 1] !== '') this.lines.splice(start, 0, '');
      this.lastLine = rule.endLine ?? rule.loc.line;
      previousSpans = spans;
    }
    this.flush(Number.POSITIVE_INFINITY, true);
    this.endLine();
    while (this.lines.length > 0 && this.lines[this.lines.length - 1] === '') this.lines.pop();
    return `${this.lines.join('\n')}\n`;
  }

  // ---- output ----------------------------------------------------------------

  private write(text: string): void {
    this.cur += text;
  }

  private hasContent(): boolean {
    return this.cur.trim() !== '';
  }

  private endLine(): void {
    if (this.hasContent()) this.lines.push(this.cur.trimEnd());
    this.cur = '';
  }

  private startLine(): void {
    this.endLine();
    this.cur = '\t'.repeat(this.indent);
  }

  private blank(): void {
    this.endLine();
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] !== '') this.lines.push('');
  }

  /** A whitespace-only source line strictly between lines `from` and `to`. */
  private gap(from: number, to: number): boolean {
    for (let line = from + 1; line < to; line++) if ((this.sourceLines[line - 1] ?? '').trim() === '') return true;
    return false;
  }

  /** Prints the comments that stand before source line `line`; `blanks` keeps a blank source line before a comment. */
  private flush(line: number, blanks = false): void {
    for (; this.nextComment < this.comments.length; this.nextComment++) {
      const c = this.comments[this.nextComment]!;
      if (c.line >= line) return;
      const text = `#${c.text.trimEnd()}`;
      if (!c.ownLine && (this.hasContent() || this.lines.length > 0)) {
        if (this.hasContent()) this.cur += ` ${text}`;
        else this.lines[this.lines.length - 1] += ` ${text}`;
      } else {
        if (blanks && this.gap(this.lastLine, c.line)) this.blank();
        this.startLine();
        this.write(text);
      }
      this.endLine();
      this.lastLine = c.line;
    }
  }

  /** Prints the comments that trail code on source line `line`. */
  private flushTrailing(line: number): void {
    const c = this.comments[this.nextComment];
    if (c !== undefined && c.line === line && !c.ownLine) this.flush(line + 1);
  }

  // ---- module level ------------------------------------------------------------

  private pathText(path: string[]): string {
    return path.map((p, i) => (IDENTIFIER.test(p) ? `${i === 0 ? '' : '.'}${p}` : `[${JSON.stringify(p)}]`)).join('');
  }

  private importDecl(imp: Import): void {
    this.flush(imp.loc.line);
    this.startLine();
    this.write('import ');
    this.term(imp.path, ANY);
    if (imp.alias !== undefined) this.write(` as ${imp.alias}`);
    this.flushTrailing(imp.loc.line);
    this.lastLine = imp.loc.line;
  }

  private rule(r: Rule): void {
    const h = r.head;
    this.startLine();
    if (r.isDefault) this.write('default ');
    this.term(h.ref, ANY);
    if (h.args !== undefined) this.list('(', ')', h.args, h.loc);
    if (h.contains !== undefined) {
      this.write(' contains ');
      this.term(h.contains, ANY);
    }
    if (h.value !== undefined) {
      this.write(h.assign ? ' := ' : ' = ');
      this.term(h.value, ANY);
    }
    if (r.body.length > 0) this.ifBody(r.body, r.loc.line, r.elses[0]?.loc.line ?? r.endLine);
    r.elses.forEach((e, i) => {
      this.write(' else');
      if (e.value !== undefined) {
        this.write(h.assign ? ' := ' : ' = ');
        this.term(e.value, ANY);
      }
      if (e.body.length > 0) this.ifBody(e.body, e.loc.line, r.elses[i + 1]?.loc.line ?? r.endLine);
    });
  }

  /** ` if <expr>` for one expression on the head's line, else ` if {` one expression a line `}`. */
  private ifBody(body: Body, headLine: number, closeLine: number | undefined): void {
    const [only] = body;
    this.write(' if ');
    if (body.length === 1 && only !== undefined && only.loc.line === headLine && !startsWithBrace(only)) {
      this.expr(only);
      return;
    }
    this.block(body, headLine, closeLine);
  }

  /** `{`, the body one expression a line, `}`; comments before `closeLine` stay inside. */
  private block(body: Body, openLine: number, closeLine: number | undefined): void {
    this.write('{');
    this.lastLine = openLine;
    this.indent++;
    body.forEach((e, i) => {
      this.flush(e.loc.line, true);
      if (i > 0 && this.gap(this.lastLine, e.loc.line)) this.blank();
      this.startLine();
      this.expr(e);
      this.lastLine = e.loc.line;
    });
    if (closeLine !== undefined) this.flush(closeLine);
    this.indent--;
    this.startLine();
    this.write('}');
  }

  // ---- expressions -----------------------------------------------------------------

  private expr(e: Expr): void {
    if (e.negated) this.write('not ');
    switch (e.kind) {
      case 'term': this.term(e.term, ANY); break;
      case 'unify': case 'assign':
        this.term(e.left, ANY);
        this.write(e.kind === 'unify' ? ' = ' : ' := ');
        this.term(e.right, ANY);
        break;
      case 'some-decl': this.write(`some ${e.vars.map((v) => v.name).join(', ')}`); break;
      case 'some-in':
        this.write('some ');
        this.member(e.key, e.value, e.collection);
        break;
      case 'every':
        this.write('every ');
        this.member(e.key, e.value, e.domain);
        this.write(' ');
        if (e.body.length === 1 && e.body[0]!.loc.line === e.loc.line) {
          this.write('{ ');
          this.expr(e.body[0]!);
          this.write(' }');
        } else {
          this.block(e.body, e.loc.line, undefined);
        }
        break;
    }
    for (const w of e.with) {
      // A `with` written on a line of its own stays there, one level deeper.
      if (w.loc.line !== e.loc.line) {
        this.indent++;
        this.startLine();
        this.indent--;
        this.write('with ');
      } else {
        this.write(' with ');
      }
      this.term(w.target, ANY);
      this.write(' as ');
      this.term(w.value, ANY);
    }
  }

  private member(key: Term | undefined, value: Term, collection: Term): void {
    if (key !== undefined) {
      this.term(key, { minPrec: PREC_IN + 1, list: true });
      this.write(', ');
    }
    this.term(value, { minPrec: PREC_IN + 1, list: true });
    this.write(' in ');
    this.term(collection, { minPrec: PREC_IN + 1, list: true });
  }

  // ---- terms -----------------------------------------------------------------------

  private term(t: Term, slot: Slot): void {
    const o = operation(t);
    const paren = (o !== undefined && precedence(t) < slot.minPrec) || (o?.kind === 'member' && o.key !== undefined && slot.list);
    if (paren) this.write('(');
    if (o !== undefined) this.operation(o);
    else this.plain(t);
    if (paren) this.write(')');
  }

  private operation(o: Operation): void {
    switch (o.kind) {
      case 'infix':
        // Left-associative: a right operand of the same precedence needs parentheses.
        this.term(o.left, { minPrec: o.prec, list: true });
        this.write(` ${o.op} `);
        this.term(o.right, { minPrec: o.prec + 1, list: true });
        return;
      case 'unary-minus':
        this.write('-');
        // `-1` would read as a number literal, `- -x` stays a call.
        if (o.operand.type === 'number') {
          this.write('(');
          this.plain(o.operand);
          this.write(')');
        } else {
          this.term(o.operand, { minPrec: PREC_ATOM, list: true });
        }
        return;
      case 'member':
        if (o.key !== undefined) {
          this.term(o.key, { minPrec: PREC_IN + 1, list: true });
          this.write(', ');
        }
        this.term(o.value, { minPrec: o.key === undefined ? PREC_IN : PREC_IN + 1, list: true });
        this.write(' in ');
        this.term(o.collection, { minPrec: PREC_IN + 1, list: true });
    }
  }

  private plain(t: Term): void {
    switch (t.type) {
      case 'null': this.write('null'); return;
      case 'boolean': this.write(String(t.value)); return;
      case 'number': this.write(t.value); return;
      case 'string': this.write(t.raw === true ? `\`${t.value}\`` : this.stringText(t)); return;
      case 'var': this.write(t.name); return;
      case 'ref': this.ref(t); return;
      case 'array': this.list('[', ']', t.items, t.loc); return;
      case 'set':
        if (t.items.length === 0) this.write('set()');
        else this.list('{', '}', t.items, t.loc);
        return;
      case 'object': this.object(t.entries, t.loc); return;
      case 'call':
        this.term(t.fn, ANY);
        this.list('(', ')', t.args, t.fn.loc);
        return;
      case 'arraycompr': case 'setcompr': case 'objectcompr': this.comprehension(t); return;
    }
  }

  /** A string as its author escaped it (`"\u2024"` stays so), or JSON's escaping when the source text is not at its location. */
  private stringText(t: Term & { type: 'string' }): string {
    const line = [...(this.sourceLines[t.loc.line - 1] ?? '')].slice(t.loc.col - 1).join('');
    const written = /^"(?:[^"\\]|\\.)*"/.exec(line)?.[0];
    if (written !== undefined) {
      try {
        if (JSON.parse(written) === t.value) return written;
      } catch {
        // Not the token this term came from (an unusual location): fall back below.
      }
    }
    return JSON.stringify(t.value);
  }

  private ref(t: Term & { type: 'ref' }): void {
    this.term(t.head, { minPrec: PREC_ATOM, list: true });
    for (const p of t.path) {
      if (p.type === 'string' && p.raw !== true && IDENTIFIER.test(p.value)) {
        this.write(`.${p.value}`);
      } else {
        this.write('[');
        this.term(p, ANY);
        this.write(']');
      }
    }
  }

  /** Items written on several lines stay one a line. */
  private multiline(open: Loc, items: Term[]): boolean {
    return items.some((item) => item.loc.line !== open.line);
  }

  /** The first item of `[a | b]` or `{a | b}` would read as a comprehension: parenthesise a `|`. */
  private item(t: Term, first: boolean): void {
    this.term(t, first ? { minPrec: PREC_COMPREHENSION_HEAD, list: true } : ITEM);
  }

  private list(open: string, close: string, items: Term[], loc: Loc): void {
    this.write(open);
    const guard = open !== '(';
    if (!this.multiline(loc, items)) {
      items.forEach((item, i) => {
        if (i > 0) this.write(', ');
        this.item(item, guard && i === 0);
      });
      this.write(close);
      return;
    }
    this.indent++;
    items.forEach((item, i) => {
      this.flush(item.loc.line);
      this.startLine();
      this.item(item, guard && i === 0);
      this.write(',');
      this.flushTrailing(item.loc.line);
    });
    this.indent--;
    this.startLine();
    this.write(close);
  }

  private object(entries: Array<[Term, Term]>, loc: Loc): void {
    const entry = ([k, v]: [Term, Term]): void => {
      this.term(k, ITEM);
      this.write(': ');
      this.term(v, { minPrec: PREC_COMPREHENSION_HEAD, list: true });
    };
    this.write('{');
    if (!this.multiline(loc, entries.map(([k]) => k))) {
      entries.forEach((e, i) => {
        if (i > 0) this.write(', ');
        entry(e);
      });
      this.write('}');
      return;
    }
    this.indent++;
    for (const e of entries) {
      this.flush(e[0].loc.line);
      this.startLine();
      entry(e);
      this.write(',');
      this.flushTrailing(e[0].loc.line);
    }
    this.indent--;
    this.startLine();
    this.write('}');
  }

  private comprehension(t: Term & { type: 'arraycompr' | 'setcompr' | 'objectcompr' }): void {
    const head: Slot = { minPrec: PREC_COMPREHENSION_HEAD, list: true };
    this.write(t.type === 'arraycompr' ? '[' : '{');
    if (t.type === 'objectcompr') {
      this.term(t.key, ITEM);
      this.write(': ');
      this.term(t.value, head);
    } else {
      this.term(t.head, head);
    }
    this.write(' |');
    const close = t.type === 'arraycompr' ? ']' : '}';
    if (!t.body.some((e) => e.loc.line !== t.loc.line)) {
      t.body.forEach((e, i) => {
        this.write(i === 0 ? ' ' : '; ');
        this.expr(e);
      });
      this.write(close);
      return;
    }
    this.indent++;
    for (const e of t.body) {
      this.flush(e.loc.line);
      this.startLine();
      this.expr(e);
    }
    this.indent--;
    this.startLine();
    this.write(close);
  }
}
