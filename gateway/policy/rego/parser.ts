/**
 * Rego v1 parser: tokens (./lexer.ts) to the AST of ./ast.ts.
 *
 * Recursive descent that follows OPA's own parser where the grammar is
 * ambiguous, so policies mean here what they mean in OPA:
 * - `[x | ...]`, `{x | ...}`, `{k: v | ...}` are comprehensions when the
 *   head is a single term; `{}` is an empty object.
 * - `.name`, `[index]` and `(args)` continue a term only when written right
 *   after it (`a.b`, not `a .b`).
 * - In a body a line break ends a literal unless the next token cannot
 *   start one (an infix operator, `with`, ...). The exception is `-`, which
 *   can start a literal (`-1 < x`): after a line break it is binary minus
 *   only inside brackets.
 */
import { RegoError, type Body, type ElseClause, type Expr, type ExprKind, type Import, type Loc, type Module, type Rule, type RuleHead, type Term, type With } from './ast.js';
import { isKeyword, tokenEndLine, tokenizeWithComments, type Comment, type Token, type TokenKind } from './lexer.js';

export function parseModule(source: string, file: string): Module {
  return new Parser(source, file).module();
}

/** Parses a query such as `data.a.b = x` or `x := 1; y > x`. */
export function parseQueryBody(source: string, file: string): Body {
  return new Parser(source, file).query();
}

/** Binary operators: builtin name and precedence (higher binds tighter); all left-associative. */
const BINARY_OPS: ReadonlyMap<TokenKind, { name: string; prec: number }> = new Map<TokenKind, { name: string; prec: number }>([
  ['==', { name: 'equal', prec: 1 }], ['!=', { name: 'neq', prec: 1 }], ['<', { name: 'lt', prec: 1 }],
  ['<=', { name: 'lte', prec: 1 }], ['>', { name: 'gt', prec: 1 }], ['>=', { name: 'gte', prec: 1 }],
  ['|', { name: 'or', prec: 2 }],
  ['&', { name: 'and', prec: 3 }],
  ['+', { name: 'plus', prec: 4 }], ['-', { name: 'minus', prec: 4 }],
  ['*', { name: 'mul', prec: 5 }], ['/', { name: 'div', prec: 5 }], ['%', { name: 'rem', prec: 5 }],
]);

/** A comprehension head may use operators binding tighter than `|` (`[x * 2 | ...]`). */
const COMPREHENSION_HEAD_PREC = 3;

const MEMBER_2 = 'internal.member_2';
const MEMBER_3 = 'internal.member_3';

const IMPORT_ROOTS = new Set(['data', 'input', 'future', 'rego']);
const FUTURE_KEYWORDS = new Set(['in', 'every', 'contains', 'if']);

interface State {
  pos: number;
  nest: number;
}

class Parser {
  private readonly toks: Token[];
  private readonly comments: Comment[];
  private pos = 0;
  /** Bracket depth within the current body literal; line breaks do not end a literal while > 0. */
  private nest = 0;
  /** Index of the token at which the last parse error was raised (guides backtracking). */
  private failPos = 0;

  constructor(
    source: string,
    private readonly file: string,
  ) {
    ({ tokens: this.toks, comments: this.comments } = tokenizeWithComments(source, file));
  }

  // ---- token helpers -------------------------------------------------------

  private peek(): Token {
    return this.toks[this.pos]!; // the array always ends with eof, which is never consumed
  }

  private next(): Token {
    const tok = this.peek();
    if (tok.kind !== 'eof') this.pos++;
    return tok;
  }

  private at(kind: TokenKind): boolean {
    return this.peek().kind === kind;
  }

  private loc(tok: Token): Loc {
    return { file: this.file, line: tok.line, col: tok.col };
  }

  private save(): State {
    return { pos: this.pos, nest: this.nest };
  }

  private restore(s: State): void {
    this.pos = s.pos;
    this.nest = s.nest;
  }

  private fail(detail: string, tok: Token = this.peek()): never {
    this.failPos = this.indexOf(tok);
    throw new RegoError('rego_parse_error', detail, this.loc(tok));
  }

  private failAt(detail: string, loc: Loc): never {
    this.failPos = this.pos;
    throw new RegoError('rego_parse_error', detail, loc);
  }

  private failUnclosed(end: TokenKind, what: string, open: Token): never {
    this.fail(`expected '${end}' to close the ${what} started at ${this.posText(open)}, found ${describe(this.peek())}`);
  }

  /** Index of a token at or before the current position (errors point at recent tokens). */
  private indexOf(tok: Token): number {
    for (let i = this.pos; i >= 0; i--) if (this.toks[i] === tok) return i;
    return this.pos;
  }

  /** Runs `fn` one bracket level deeper: line breaks do not end the literal inside it. */
  private bracketed<T>(fn: () => T): T {
    const outer = this.nest;
    this.nest = outer + 1;
    try {
      return fn();
    } finally {
      this.nest = outer;
    }
  }

  private expect(kind: TokenKind, context: string): Token {
    const tok = this.peek();
    if (tok.kind !== kind) this.fail(`expected '${kind}' ${context}, found ${describe(tok)}`);
    return this.next();
  }

  /** Runs `attempt`; on a parse error restores the position and returns the error. */
  private tryParse<T>(attempt: () => T): { value: T } | { error: RegoError; failPos: number } {
    const s = this.save();
    try {
      return { value: attempt() };
    } catch (e) {
      if (!(e instanceof RegoError)) throw e;
      const failPos = this.failPos;
      this.restore(s);
      return { error: e, failPos };
    }
  }

  private posText(tok: Token): string {
    return `${tok.line}:${tok.col}`;
  }

  // ---- module level --------------------------------------------------------

  module(): Module {
    if (!this.at('package')) this.fail(`expected 'package' at the start of the module, found ${describe(this.peek())}`);
    const packageLoc = this.loc(this.peek());
    const pkg = this.packageDecl();
    const imports: Import[] = [];
    const rules: Rule[] = [];
    for (;;) {
      const tok = this.peek();
      if (tok.kind === 'eof') break;
      if (tok.kind === 'import') imports.push(this.importDecl());
      else if (tok.kind === 'package') this.fail("unexpected 'package': a module declares exactly one package");
      else rules.push(...this.rulesEnding());
    }
    return { file: this.file, package: pkg, packageLoc, imports, rules, comments: this.comments };
  }

  query(): Body {
    if (this.at('eof')) this.fail('empty query: expected at least one expression');
    return this.bodyUntil('eof', this.peek());
  }

  /** `name(.name | ["string"])*`: a static path as used by `package` and `import`. */
  private staticPath(what: string): { head: Token; path: Array<{ value: string; tok: Token }> } {
    const head = this.next();
    if (head.kind !== 'ident') this.fail(`expected ${what}, found ${describe(head)}`, head);
    const path: Array<{ value: string; tok: Token }> = [];
    for (;;) {
      const tok = this.peek();
      if (tok.wsBefore) break;
      if (tok.kind === '.') {
        this.next();
        const name = this.next();
        if ((name.kind !== 'ident' && !isKeyword(name.kind)) || name.wsBefore) this.fail(`expected a name after '.', found ${describe(name)}`, name);
        path.push({ value: name.text, tok: name });
      } else if (tok.kind === '[') {
        this.next();
        const str = this.next();
        if (str.kind !== 'string') this.fail(`expected a string in ${what}, found ${describe(str)}`, str);
        this.expect(']', `to close '[' at ${this.posText(tok)}`);
        path.push({ value: str.value, tok: str });
      } else {
        break;
      }
    }
    return { head, path };
  }

  private packageDecl(): string[] {
    this.next();
    const { head, path } = this.staticPath('a package name');
    return [head.text, ...path.map((p) => p.value)];
  }

  private importDecl(): Import {
    const importTok = this.next();
    const { head, path } = this.staticPath('an import path');
    const root = head.text;
    if (!IMPORT_ROOTS.has(root)) this.fail(`unexpected import path: must begin with one of data, input, future, rego, found '${root}'`, head);
    const names = path.map((p) => p.value);
    if (root === 'future') {
      const kw = names[1];
      if (names[0] !== 'keywords' || names.length > 2 || (kw !== undefined && !FUTURE_KEYWORDS.has(kw))) {
        this.fail(`unknown future keyword import 'future.${names.join('.')}': expected future.keywords or future.keywords.<in|every|contains|if>`, head);
      }
    }
    if (root === 'rego' && (names.length !== 1 || names[0] !== 'v1')) this.fail(`unknown import 'rego.${names.join('.')}': the only rego import is rego.v1`, head);
    const pathTerm: Term = {
      type: 'ref',
      head: { type: 'var', name: root, loc: this.loc(head) },
      path: path.map((p) => ({ type: 'string', value: p.value, loc: this.loc(p.tok) })),
      loc: this.loc(head),
    };
    const imp: Import = { path: pathTerm, loc: this.loc(importTok) };
    if (this.at('as')) {
      const asTok = this.next();
      if (root === 'future' || root === 'rego') this.fail(`'${root}' imports cannot be aliased`, asTok);
      const alias = this.next();
      if (alias.kind !== 'ident') this.fail(`expected an alias name after 'as', found ${describe(alias)}`, alias);
      imp.alias = alias.text;
    }
    return imp;
  }

  // ---- rules ---------------------------------------------------------------

  /** The rules of one statement, each knowing the line of its last token. */
  private rulesEnding(): Rule[] {
    const rules = this.rules();
    const last = this.toks[this.pos - 1];
    if (last !== undefined) for (const r of rules) r.endLine = tokenEndLine(last);
    return rules;
  }

  private rules(): Rule[] {
    const start = this.peek();
    const isDefault = start.kind === 'default';
    if (isDefault) this.next();
    const nameTok = this.peek();
    if (nameTok.kind !== 'ident') {
      this.fail(isDefault ? `expected a rule name after 'default', found ${describe(nameTok)}` : `expected a rule, import or package, found ${describe(nameTok)}`);
    }
    const head = this.ruleHead();
    const rule: Rule = { head, isDefault, body: [], elses: [], loc: this.loc(start) };
    const name = headName(head);

    if (isDefault) {
      this.checkDefault(rule, nameTok);
      return [rule];
    }
    if (this.at('{')) this.fail(`expected 'if' before the body of rule '${name}' (Rego v1 requires 'if')`);
    if (!this.at('if')) {
      if (head.value === undefined && head.contains === undefined) {
        this.fail(`expected ':=', '=', 'contains' or 'if' after rule head '${name}', found ${describe(this.peek())}`);
      }
      if (this.at('else')) this.fail(`'else' requires rule '${name}' to have a body ('if ...')`);
      return [rule];
    }
    this.next();
    rule.body = this.ifBody();

    if (this.at('else')) {
      if (head.contains !== undefined) this.fail(`'else' cannot be used on multi-value rule '${name}'`);
      if (head.ref.type === 'ref' && !head.ref.path.every(isConstant)) this.fail(`'else' cannot be used on rule '${name}' with variables in its head`);
      while (this.at('else')) rule.elses.push(this.elseClause(name));
    }

    // OPA accepts further bodies written directly after the first (`p if { a } { b }`): one rule each.
    const result = [rule];
    while (this.at('{')) {
      if (rule.elses.length > 0) this.fail(`expected 'else' or a new rule after the else chain of '${name}', found '{'`);
      const open = this.peek();
      result.push({ head: { ...head, loc: this.loc(open) }, isDefault: false, body: this.braceBody('rule body'), elses: [], loc: this.loc(open) });
    }
    return result;
  }

  private ruleHead(): RuleHead {
    const nameTok = this.next();
    const headLoc = this.loc(nameTok);
    let ref: Term = { type: 'var', name: nameTok.text, loc: headLoc };
    const path: Term[] = [];
    let args: Term[] | undefined;
    // OPA allows whitespace before the first suffix of a rule head (`p [x]`), not between later ones.
    for (let first = true; ; first = false) {
      const tok = this.peek();
      if (tok.wsBefore && !first) break;
      if (tok.kind === '.') {
        this.next();
        const name = this.next();
        if ((name.kind !== 'ident' && !isKeyword(name.kind)) || name.wsBefore) this.fail(`expected a name after '.' in rule head, found ${describe(name)}`, name);
        path.push({ type: 'string', value: name.text, loc: this.loc(name) });
      } else if (tok.kind === '[') {
        path.push(this.indexSuffix());
      } else if (tok.kind === '(') {
        args = this.argList();
        const after = this.peek();
        if (!after.wsBefore && (after.kind === '.' || after.kind === '[' || after.kind === '(')) {
          this.fail(`unexpected ${describe(after)} after the parameters of function '${nameTok.text}'`, after);
        }
        break;
      } else {
        break;
      }
    }
    if (path.length > 0) ref = { type: 'ref', head: ref, path, loc: headLoc };
    const head: RuleHead = { ref, assign: false, loc: headLoc };
    if (args !== undefined) head.args = args;

    const tok = this.peek();
    if (tok.kind === 'contains') {
      if (args !== undefined) this.fail(`'contains' cannot be used with function '${headName(head)}'`);
      this.next();
      head.contains = this.infix(true);
    } else if (tok.kind === ':=' || tok.kind === '=') {
      this.next();
      head.assign = tok.kind === ':=';
      head.value = this.infix(true);
    }
    return head;
  }

  private checkDefault(rule: Rule, nameTok: Token): void {
    const { head } = rule;
    const name = headName(head);
    if (head.contains !== undefined) this.fail(`default rule '${name}' cannot use 'contains'`, nameTok);
    if (head.value === undefined) this.fail(`default rule '${name}' must have a value: default ${name} := <value>`, nameTok);
    const bad = findVarRefOrCall(head.value);
    if (bad !== undefined) this.failAt(`default rule '${name}' value cannot contain a ${bad.what}`, bad.loc);
    if (head.args !== undefined) {
      const seen = new Set<string>();
      for (const arg of head.args) {
        if (arg.type !== 'var') this.failAt(`default function '${name}' parameters must be variables`, arg.loc);
        if (arg.name !== '_' && seen.has(arg.name)) this.failAt(`default function '${name}' repeats parameter '${arg.name}'`, arg.loc);
        seen.add(arg.name);
      }
    }
    if (this.at('if') || this.at('{')) this.fail(`default rule '${name}' cannot have a body`);
  }

  /**
   * After `if`: `{ body }` or a single literal. As in OPA the literal is tried
   * first and a set literal means a braced body. Unlike OPA, a lone object
   * literal (`allow if {}`, `allow if {input.x: 1}`) is rejected: OPA reads it
   * as an always-true condition, which is never what a policy author meant.
   */
  private ifBody(): Body {
    const tok = this.peek();
    if (tok.kind === 'eof') this.fail("expected a rule body after 'if', found end of file");
    if (tok.kind !== '{') return [this.literal()];
    if (!this.bracesMayBeLiteral()) return this.braceBody('rule body');
    const start = this.save();
    const asLiteral = this.tryParse(() => this.literal());
    if ('value' in asLiteral) {
      const lit = asLiteral.value;
      const lone = lit.kind === 'term' && !lit.negated && lit.with.length === 0 ? lit.term.type : undefined;
      if (lone === 'object') {
        const what = lit.kind === 'term' && lit.term.type === 'object' && lit.term.entries.length === 0 ? "'{}' after 'if' is an empty object" : "'{...}' after 'if' is an object";
        this.fail(`${what}, not a rule body: write conditions as 'if { <expression> }'`, tok);
      }
      if (lone !== 'set') return [lit];
    }
    this.restore(start);
    return this.braceBody('rule body');
  }

  /**
   * Cheap pre-check for `ifBody` (parse errors are costly to throw): whether
   * the braces at the current position could parse as a literal other than a
   * set. That needs no content (`{}`), a `:` directly inside them (object),
   * a single term then `|` (comprehension), or a token after the closing
   * brace that continues the term.
   */
  private bracesMayBeLiteral(): boolean {
    let depth = 0;
    let headIsTerm = true;
    for (let i = this.pos; i < this.toks.length; i++) {
      const tok = this.toks[i]!;
      switch (tok.kind) {
        case '{': case '[': case '(':
          depth++;
          continue;
        case '}': case ']': case ')': {
          depth--;
          if (depth > 0) continue;
          const after = this.toks[i + 1];
          return i === this.pos + 1 || after === undefined || continuesTerm(after);
        }
        case 'eof':
          return true;
      }
      if (depth !== 1) continue;
      if (tok.kind === ':' || (tok.kind === '|' && headIsTerm)) return true;
      if (!TERM_TOKENS.has(tok.kind) && !(tok.kind === '-' && i === this.pos + 1)) headIsTerm = false;
    }
    return true;
  }

  private elseClause(ruleName: string): ElseClause {
    const elseTok = this.next();
    const clause: ElseClause = { body: [], loc: this.loc(elseTok) };
    if (this.at(':=') || this.at('=')) {
      this.next();
      clause.value = this.infix(true);
    } else if (!this.at('if') && !this.at('{')) {
      this.fail(`expected ':=', '=' or 'if' after 'else' in rule '${ruleName}', found ${describe(this.peek())}`);
    }
    if (this.at('{')) this.fail(`expected 'if' before the else body of rule '${ruleName}' (Rego v1 requires 'if')`);
    if (this.at('if')) {
      this.next();
      const tok = this.peek();
      if (tok.kind === 'eof') this.fail("expected a body after 'else ... if', found end of file");
      clause.body = tok.kind === '{' ? this.braceBody('else body') : [this.literal()];
    }
    return clause;
  }

  // ---- bodies and literals -------------------------------------------------

  private braceBody(what: string): Body {
    const open = this.expect('{', `to start the ${what}`);
    const body = this.nestedBody('}', open);
    this.next();
    return body;
  }

  /** A body inside brackets: line breaks separate literals again. Leaves the closing token unconsumed. */
  private nestedBody(end: TokenKind, open: Token): Body {
    const outer = this.nest;
    this.nest = 0;
    const body = this.bodyUntil(end, open);
    this.nest = outer;
    return body;
  }

  private bodyUntil(end: TokenKind, open: Token): Body {
    if (this.at(end)) this.fail(`empty body: expected at least one expression before ${closer(end)}`);
    const body: Body = [];
    for (;;) {
      if (this.at('eof') && end !== 'eof') this.failUnclosed(end, 'body', open);
      body.push(this.literal());
      const tok = this.peek();
      if (tok.kind === ';') {
        this.next();
        continue;
      }
      if (tok.kind === end) return body;
      if (tok.kind === 'eof') this.failUnclosed(end, 'body', open);
      if (!tok.nlBefore) this.fail(`expected a line break, ';' or ${closer(end)} after the expression, found ${describe(tok)}`);
    }
  }

  private literal(): Expr {
    const start = this.peek();
    const negated = start.kind === 'not';
    if (negated) this.next();
    const tok = this.peek();
    let kind: ExprKind;
    if (tok.kind === 'some' || tok.kind === 'every') {
      if (negated) this.fail(`'not' cannot be applied to '${tok.kind}'`);
      kind = tok.kind === 'some' ? this.some() : this.every();
      if (kind.kind === 'some-decl') return { ...kind, negated, with: [], loc: this.loc(start) };
    } else {
      kind = this.exprKind();
    }
    return { ...kind, negated, with: this.withs(), loc: this.loc(start) };
  }

  private exprKind(): ExprKind {
    const left = this.infix(true);
    const op = this.peek();
    if (op.kind === ':=' || op.kind === '=') {
      this.next();
      const right = this.infix(true);
      return op.kind === ':=' ? { kind: 'assign', left, right } : { kind: 'unify', left, right };
    }
    return { kind: 'term', term: left };
  }

  private withs(): With[] {
    const withs: With[] = [];
    while (this.at('with')) {
      const withTok = this.next();
      const targetTok = this.peek();
      if (targetTok.kind !== 'ident') this.fail(`expected a reference after 'with' (input..., data... or a function name), found ${describe(targetTok)}`);
      const target = this.primary();
      if (target.type !== 'var' && !(target.type === 'ref' && target.head.type === 'var')) {
        this.failAt("expected a reference after 'with' (input..., data... or a function name)", target.loc);
      }
      this.expect('as', `after the 'with' target`);
      withs.push({ target, value: this.infix(true), loc: this.loc(withTok) });
    }
    return withs;
  }

  private some(): ExprKind {
    this.next();
    const start = this.save();
    const attempt = this.tryParse(() => this.infix(true));
    if ('value' in attempt) {
      const m = memberCall(attempt.value);
      if (m !== undefined) {
        const someIn: ExprKind = { kind: 'some-in', value: m.value, collection: m.collection };
        if (m.key !== undefined) someIn.key = m.key;
        return someIn;
      }
      this.restore(start);
    }
    const vars: Array<{ name: string; loc: Loc }> = [];
    for (;;) {
      const v = this.next();
      if (v.kind !== 'ident') this.fail(`expected a variable name after 'some', found ${describe(v)}`, v);
      vars.push({ name: v.text, loc: this.loc(v) });
      if (!this.at(',')) return { kind: 'some-decl', vars };
      this.next();
    }
  }

  private every(): ExprKind {
    const everyTok = this.next();
    const domain = this.infix(true);
    const m = memberCall(domain);
    if (m === undefined) this.fail("expected 'x in xs' or 'k, v in xs' after 'every'", everyTok);
    if (m.key !== undefined && m.key.type !== 'var') this.failAt("'every' key must be a variable", m.key.loc);
    if (m.value.type !== 'var') this.failAt("'every' value must be a variable", m.value.loc);
    if (!this.at('{')) this.fail(`expected '{' to start the body of 'every' at ${this.posText(everyTok)}, found ${describe(this.peek())}`);
    const body = this.braceBody("'every' body");
    const every: ExprKind = { kind: 'every', value: m.value, domain: m.collection, body };
    if (m.key !== undefined) every.key = m.key;
    return every;
  }

  // ---- terms and operators -------------------------------------------------

  /**
   * A term with infix operators. `keyVal` also admits `k, v in c` (only where
   * a comma cannot mean a list separator). `first`, when given, is an operand
   * already parsed by the caller.
   */
  private infix(keyVal: boolean, first?: Term): Term {
    let lhs = this.binary(1, first);
    for (;;) {
      if (keyVal && this.at(',')) {
        const attempt = this.tryParse(() => {
          this.next();
          const mid = this.binary(1);
          if (!this.at('in')) this.fail("expected 'in' after 'k, v'");
          const inTok = this.next();
          return builtinCall(MEMBER_3, [lhs, mid, this.binary(1)], lhs.loc, this.loc(inTok));
        });
        if ('value' in attempt) {
          lhs = attempt.value;
          continue;
        }
      }
      if (!this.at('in')) return lhs;
      const inTok = this.next();
      lhs = builtinCall(MEMBER_2, [lhs, this.binary(1)], lhs.loc, this.loc(inTok));
    }
  }

  /** Precedence climbing over BINARY_OPS, for operators binding at least as tight as `minPrec`. */
  private binary(minPrec: number, first?: Term): Term {
    let lhs = first ?? this.unary();
    for (;;) {
      const tok = this.peek();
      const op = BINARY_OPS.get(tok.kind);
      if (op === undefined || op.prec < minPrec) return lhs;
      // `-` at the start of a line begins a new literal (`-1 < x`) unless inside brackets.
      if (tok.kind === '-' && tok.nlBefore && this.nest === 0) return lhs;
      this.next();
      lhs = builtinCall(op.name, [lhs, this.binary(op.prec + 1)], lhs.loc, this.loc(tok));
    }
  }

  private unary(): Term {
    const tok = this.peek();
    if (tok.kind !== '-') return this.primary();
    this.next();
    const num = this.peek();
    if (num.kind === 'number') {
      this.next();
      return { type: 'number', value: `-${num.value}`, loc: this.loc(tok) };
    }
    const operand = this.unary();
    return builtinCall('minus', [{ type: 'number', value: '0', loc: this.loc(tok) }, operand], this.loc(tok), this.loc(tok));
  }

  private primary(): Term {
    const tok = this.next();
    const loc = this.loc(tok);
    return this.suffixes(this.primaryHead(tok, loc));
  }

  private primaryHead(tok: Token, loc: Loc): Term {
    switch (tok.kind) {
      case 'null': return { type: 'null', loc };
      case 'true': return { type: 'boolean', value: true, loc };
      case 'false': return { type: 'boolean', value: false, loc };
      case 'number': return { type: 'number', value: tok.value, loc };
      case 'string': return tok.text.startsWith('`') ? { type: 'string', value: tok.value, raw: true, loc } : { type: 'string', value: tok.value, loc };
      // `contains` is a keyword only in rule heads; elsewhere it names the builtin.
      case 'ident': case 'contains': return { type: 'var', name: tok.text, loc };
      case '[': return this.bracketed(() => this.arrayOrComprehension(tok));
      case '{': return this.bracketed(() => this.setOrObject(tok));
      case '(': return this.bracketed(() => {
        const inner = this.infix(true);
        this.expect(')', `to close '(' at ${this.posText(tok)}`);
        return inner;
      });
      default:
        return this.fail(`expected a term, found ${describe(tok)}`, tok);
    }
  }

  /** `.name`, `[index]` and `(args)` written directly after a term. */
  private suffixes(head: Term): Term {
    let base = head;
    let path: Term[] | undefined;
    if (head.type === 'ref') {
      base = head.head;
      path = [...head.path];
    }
    for (;;) {
      const tok = this.peek();
      if (tok.wsBefore || (tok.kind !== '.' && tok.kind !== '[' && tok.kind !== '(')) break;
      if (tok.kind === '(') {
        const fn = path === undefined ? base : ({ type: 'ref', head: base, path, loc: base.loc } as const);
        if (!isFunctionName(fn)) this.fail('only named functions can be called (e.g. f(x), a.b.f(x))', tok);
        const args = this.argList();
        base = fn.type === 'var' && fn.name === 'set' && args.length === 0 ? { type: 'set', items: [], loc: fn.loc } : { type: 'call', fn, args, loc: fn.loc };
        path = undefined;
        continue;
      }
      if (path === undefined) {
        if (!REF_HEAD_TYPES.has(base.type)) this.fail(`a ${base.type} cannot be followed by ${describe(tok)}`, tok);
        path = [];
      }
      if (tok.kind === '.') {
        this.next();
        const name = this.next();
        if ((name.kind !== 'ident' && !isKeyword(name.kind)) || name.wsBefore) this.fail(`expected a name after '.', found ${describe(name)}`, name);
        path.push({ type: 'string', value: name.text, loc: this.loc(name) });
      } else {
        path.push(this.indexSuffix());
      }
    }
    return path === undefined ? base : { type: 'ref', head: base, path, loc: base.loc };
  }

  private indexSuffix(): Term {
    const open = this.next();
    return this.bracketed(() => {
      const index = this.infix(true);
      this.expect(']', `to close '[' at ${this.posText(open)}`);
      return index;
    });
  }

  private argList(): Term[] {
    const open = this.next();
    return this.bracketed(() => this.listRest([], ')', open, 'argument list'));
  }

  /** Items after the first ones, up to and including `end`; a trailing comma is allowed. */
  private listRest(items: Term[], end: TokenKind, open: Token, what: string): Term[] {
    for (;;) {
      if (items.length > 0) {
        if (this.at(',')) this.next();
        else if (!this.at(end)) this.fail(`expected ',' or '${end}' to close the ${what} started at ${this.posText(open)}, found ${describe(this.peek())}`);
      }
      if (this.at(end)) break;
      items.push(this.infix(false));
    }
    this.next();
    return items;
  }

  /** After `|`: a comprehension body up to `end` (consumed). */
  private comprehensionBody(end: TokenKind, open: Token): Body {
    this.next();
    const body = this.nestedBody(end, open);
    this.expect(end, `to close the comprehension started at ${this.posText(open)}`);
    return body;
  }

  /**
   * Comprehension or plain collection: a head followed by `|` is
   * tried as a comprehension first; if its body fails at a comma, the whole
   * thing is re-read as a collection whose first item uses the `|` operator.
   */
  private tryComprehension<T>(open: Token, end: TokenKind, build: (body: Body) => T): T | undefined {
    const attempt = this.tryParse(() => build(this.comprehensionBody(end, open)));
    if ('value' in attempt) return attempt.value;
    if (this.toks[attempt.failPos]?.kind !== ',') throw attempt.error;
    return undefined;
  }

  /** Called inside `bracketed`, after the opening '['. */
  private arrayOrComprehension(open: Token): Term {
    const loc = this.loc(open);
    if (this.at(']')) {
      this.next();
      return { type: 'array', items: [], loc };
    }
    const itemsStart = this.pos;
    const head = this.binary(COMPREHENSION_HEAD_PREC);
    if (this.at('|')) {
      const compr = this.tryComprehension(open, ']', (body): Term => ({ type: 'arraycompr', head, body, loc }));
      if (compr !== undefined) return compr;
      this.pos = itemsStart;
      return { type: 'array', items: this.listRest([], ']', open, 'array'), loc };
    }
    const first = this.at(',') || this.at(']') ? head : this.infix(false, head);
    return { type: 'array', items: this.listRest([first], ']', open, 'array'), loc };
  }

  /** Called inside `bracketed`, after the opening '{'. */
  private setOrObject(open: Token): Term {
    const loc = this.loc(open);
    if (this.at('}')) {
      this.next();
      return { type: 'object', entries: [], loc };
    }
    const itemsStart = this.pos;
    const head = this.binary(COMPREHENSION_HEAD_PREC);
    if (this.at('|')) {
      const compr = this.tryComprehension(open, '}', (body): Term => ({ type: 'setcompr', head, body, loc }));
      if (compr !== undefined) return compr;
      this.pos = itemsStart;
      return { type: 'set', items: this.listRest([], '}', open, 'set'), loc };
    }
    const key = this.at(',') || this.at('}') || this.at(':') ? head : this.infix(false, head);
    if (!this.at(':')) {
      if (!this.at(',') && !this.at('}')) this.fail(`expected ',', ':' or '}' in the set or object started at ${this.posText(open)}, found ${describe(this.peek())}`);
      return { type: 'set', items: this.listRest([key], '}', open, 'set'), loc };
    }
    this.next();
    const valueStart = this.pos;
    const valueHead = this.binary(COMPREHENSION_HEAD_PREC);
    let value: Term;
    if (this.at('|')) {
      const compr = this.tryComprehension(open, '}', (body): Term => ({ type: 'objectcompr', key, value: valueHead, body, loc }));
      if (compr !== undefined) return compr;
      // Not a comprehension: the value is an expression using `|` (set union).
      this.pos = valueStart;
      value = this.infix(false);
    } else {
      value = this.at(',') || this.at('}') ? valueHead : this.infix(false, valueHead);
    }
    return { type: 'object', entries: this.objectRest([[key, value]], open), loc };
  }

  private objectRest(entries: Array<[Term, Term]>, open: Token): Array<[Term, Term]> {
    for (;;) {
      if (this.at(',')) {
        this.next();
        if (this.at('}')) break;
        const key = this.infix(false);
        this.expect(':', `after the key in the object started at ${this.posText(open)}`);
        entries.push([key, this.infix(false)]);
        continue;
      }
      if (this.at('}')) break;
      this.fail(`expected ',' or '}' to close the object started at ${this.posText(open)}, found ${describe(this.peek())}`);
    }
    this.next();
    return lastOfEachScalarKey(entries);
  }
}

// ---- helpers ---------------------------------------------------------------

const REF_HEAD_TYPES: ReadonlySet<Term['type']> = new Set(['var', 'array', 'object', 'set', 'arraycompr', 'setcompr', 'objectcompr', 'call']);

/** Tokens that, right after a complete term, make it part of a larger literal. */
const CONTINUATIONS: ReadonlySet<TokenKind> = new Set<TokenKind>([
  ...BINARY_OPS.keys(),
  'in', ',', ':=', '=', 'with',
]);

/** Tokens that can occur at the top level of a single term (`a.b`, `"s"`, `f(x)`, ...). */
const TERM_TOKENS: ReadonlySet<TokenKind> = new Set<TokenKind>(['ident', 'number', 'string', 'null', 'true', 'false', 'contains', '.']);

function continuesTerm(tok: Token): boolean {
  if (!tok.wsBefore && (tok.kind === '.' || tok.kind === '[' || tok.kind === '(')) return true;
  return CONTINUATIONS.has(tok.kind);
}

function closer(end: TokenKind): string {
  return end === 'eof' ? 'the end of the query' : `'${end}'`;
}

function describe(tok: Token): string {
  if (tok.kind === 'eof') return 'end of file';
  const text = tok.text.length > 30 ? `${tok.text.slice(0, 27)}...` : tok.text;
  return isKeyword(tok.kind) ? `keyword '${text}'` : `'${text}'`;
}

/** `count`, `a.b.f`: a var or a ref of a var and static names. */
function isFunctionName(t: Term): boolean {
  if (t.type === 'var') return true;
  return t.type === 'ref' && t.head.type === 'var' && t.path.every((p) => p.type === 'string');
}

const splitNames = new Map<string, string[]>();

/** A builtin call with the OPA name `name` (dotted names become refs, e.g. internal.member_2). */
function builtinCall(name: string, args: Term[], loc: Loc, opLoc: Loc): Term {
  let parts = splitNames.get(name);
  if (parts === undefined) splitNames.set(name, (parts = name.split('.')));
  const [head, ...rest] = parts;
  const headVar: Term = { type: 'var', name: head!, loc: opLoc };
  const fn: Term = rest.length === 0 ? headVar : { type: 'ref', head: headVar, path: rest.map((value) => ({ type: 'string', value, loc: opLoc })), loc: opLoc };
  return { type: 'call', fn, args, loc };
}

/** Recognises the calls built for `x in c` / `k, v in c`. */
function memberCall(t: Term): { key?: Term; value: Term; collection: Term } | undefined {
  if (t.type !== 'call' || t.fn.type !== 'ref' || t.fn.head.type !== 'var' || t.fn.head.name !== 'internal') return undefined;
  const name = t.fn.path[0];
  if (t.fn.path.length !== 1 || name?.type !== 'string') return undefined;
  const [a, b, c] = t.args;
  if (name.value === 'member_2' && a && b && !c) return { value: a, collection: b };
  if (name.value === 'member_3' && a && b && c) return { key: a, value: b, collection: c };
  return undefined;
}

function headName(head: RuleHead): string {
  const { ref } = head;
  if (ref.type === 'var') return ref.name;
  if (ref.type !== 'ref' || ref.head.type !== 'var') return '?';
  return ref.head.name + ref.path.map((p) => (p.type === 'string' ? `.${p.value}` : p.type === 'var' ? `[${p.name}]` : '[...]')).join('');
}

function isConstant(t: Term): boolean {
  return findVarRefOrCall(t) === undefined;
}

/** The first var, ref or call in `t` outside comprehensions (those are closed over their own vars). */
function findVarRefOrCall(t: Term): { what: string; loc: Loc } | undefined {
  switch (t.type) {
    case 'var': return { what: 'variable', loc: t.loc };
    case 'ref': return { what: 'reference', loc: t.loc };
    case 'call': return { what: 'function call', loc: t.loc };
    case 'array': case 'set': return firstOf(t.items);
    case 'object': return firstOf(t.entries.flat());
    default: return undefined;
  }
}

function firstOf(terms: Term[]): { what: string; loc: Loc } | undefined {
  for (const item of terms) {
    const found = findVarRefOrCall(item);
    if (found) return found;
  }
  return undefined;
}

/**
 * As OPA's parser builds an object literal: a scalar key written twice keeps
 * only its last value, and the earlier ones are never evaluated.
 */
function lastOfEachScalarKey(entries: Array<[Term, Term]>): Array<[Term, Term]> {
  const keyText = (k: Term): string | undefined => {
    switch (k.type) {
      case 'null': return 'null';
      case 'boolean': return String(k.value);
      case 'number': return `n${Number(k.value)}`;
      case 'string': return JSON.stringify(k.value);
      default: return undefined;
    }
  };
  const last = new Map<string, number>();
  entries.forEach(([k], i) => {
    const text = keyText(k);
    if (text !== undefined) last.set(text, i);
  });
  return entries.filter(([k], i) => {
    const text = keyText(k);
    return text === undefined || last.get(text) === i;
  });
}
