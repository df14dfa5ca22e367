/**
 * Rego abstract syntax tree: the contract between the parser (parser.ts) and
 * the planner (../compiler/planner.ts). Rego v1 syntax only.
 *
 * Conventions
 * - Every node carries `loc` (1-based line and column of its first character).
 * - Infix operators are desugared by the parser into `call` terms with the
 *   builtin's OPA name: `==` equal, `!=` neq, `<` lt, `<=` lte, `>` gt,
 *   `>=` gte, `+` plus, `-` minus, `*` mul, `/` div, `%` rem, `&` and, `|` or,
 *   `x in c` internal.member_2, `k, v in c` internal.member_3.
 *   Precedence, lowest first: `in`, relational, `|`, `&`, `+ -`, `* / %`.
 * - A negative number literal (`-1`) is a number term; unary minus on any
 *   other term is `call minus(0, t)`.
 * - `a.b[c]` is a `ref` term whose head is the var `a` and whose path is
 *   [string "b", var "c"]. `input`, `data` and imported names are plain vars
 *   at the head of a ref; the planner resolves them.
 * - The wildcard `_` is a var named `_`; the planner makes each occurrence
 *   unique.
 * - Strings are already unescaped (both "..." and raw `...` strings).
 * - Number literals keep their source text so no precision is lost.
 */

import type { Comment } from './lexer.js';

export interface Loc {
  file: string;
  line: number;
  col: number;
}

export type Term =
  | { type: 'null'; loc: Loc }
  | { type: 'boolean'; value: boolean; loc: Loc }
  | { type: 'number'; value: string; loc: Loc }
  /** `raw` when written as a backtick string (the formatter keeps it so). */
  | { type: 'string'; value: string; raw?: boolean; loc: Loc }
  | { type: 'var'; name: string; loc: Loc }
  | { type: 'ref'; head: Term; path: Term[]; loc: Loc }
  | { type: 'array'; items: Term[]; loc: Loc }
  | { type: 'object'; entries: Array<[Term, Term]>; loc: Loc }
  | { type: 'set'; items: Term[]; loc: Loc }
  | { type: 'arraycompr'; head: Term; body: Body; loc: Loc }
  | { type: 'setcompr'; head: Term; body: Body; loc: Loc }
  | { type: 'objectcompr'; key: Term; value: Term; body: Body; loc: Loc }
  /** `fn` is a var (`count`) or a ref of static names (`strings.any_prefix_match`, `data.lib.f`, `lib.f`). */
  | { type: 'call'; fn: Term; args: Term[]; loc: Loc };

export type TermType = Term['type'];

/** `expr with target as value`: target is a ref (input..., data..., or a function name). */
export interface With {
  target: Term;
  value: Term;
  loc: Loc;
}

export type ExprKind =
  /** A term standing alone: `input.allowed`, `count(x) > 1`, `f(x)`. */
  | { kind: 'term'; term: Term }
  /** `left = right` (unification). */
  | { kind: 'unify'; left: Term; right: Term }
  /** `left := right` (declaration; left is a var or a composite of vars). */
  | { kind: 'assign'; left: Term; right: Term }
  /** `some x, y` */
  | { kind: 'some-decl'; vars: Array<{ name: string; loc: Loc }> }
  /** `some v in c` (key undefined) or `some k, v in c`. */
  | { kind: 'some-in'; key?: Term; value: Term; collection: Term }
  /** `every v in c { body }` or `every k, v in c { body }`. */
  | { kind: 'every'; key?: Term; value: Term; domain: Term; body: Body };

export type Expr = ExprKind & {
  negated: boolean;
  with: With[];
  loc: Loc;
};

export type Body = Expr[];

export interface ElseClause {
  /** Undefined value means `true` (`else` / `else if { ... }`). */
  value?: Term;
  body: Body;
  loc: Loc;
}

export interface RuleHead {
  /**
   * The rule's name as a ref relative to the package: `p` is a var term,
   * `p.q[x]` is a ref term (head var p, path [string q, var x]).
   */
  ref: Term;
  /** Function parameters; present only for functions. */
  args?: Term[];
  /** `contains` key of a multi-value (partial set) rule. */
  contains?: Term;
  /** Value after `:=` or `=`; undefined means `true` (or the set member for `contains`). */
  value?: Term;
  /** True when written with `:=`. */
  assign: boolean;
  loc: Loc;
}

export interface Rule {
  head: RuleHead;
  /** `default p := v`. */
  isDefault: boolean;
  /** Empty for rules without a body (`p := 1`). */
  body: Body;
  elses: ElseClause[];
  loc: Loc;
  /** Line of the rule's last token (the formatter keeps comments inside or after it). */
  endLine?: number;
}

export interface Import {
  /** `data.lib.x`, `input.foo` or `rego.v1` / `future.keywords...` as a ref term. */
  path: Term;
  alias?: string;
  loc: Loc;
}

export interface Module {
  file: string;
  /** Package path below `data`: `package a.b` → ["a", "b"]. */
  package: string[];
  /** Where the `package` keyword is. */
  packageLoc?: Loc;
  imports: Import[];
  rules: Rule[];
  /** Test rules are ordinary rules whose name starts with `test_`. */
  /** The module's `#` comments in source order (see ./annotations.ts for `# METADATA` blocks). */
  comments?: Comment[];
}

/** Thrown by the parser and the planner: a precise, user-facing error. */
export class RegoError extends Error {
  constructor(
    readonly code: 'rego_parse_error' | 'rego_compile_error' | 'rego_type_error' | 'rego_unsafe_var_error' | 'rego_recursion_error',
    readonly detail: string,
    readonly loc?: Loc,
  ) {
    super(loc ? `${loc.file}:${loc.line}:${loc.col}: ${code}: ${detail}` : `${code}: ${detail}`);
    this.name = 'RegoError';
  }
}
