/**
 * Line coverage for `policy test --coverage`: compiled with marks, a plan
 * calls a host built-in with a mark's number just before each expression
 * is evaluated and once a rule's body has produced its value (its head).
 * The host records the numbers; `marks` maps them back to file and line.
 * Only test runs compile marks: they cost a host call each.
 */
import type { Loc } from '../rego/ast.js';
import type { HostBuiltins } from './callees.js';
import type { Lit } from './ir.js';

/** The marks' host built-in; the dot-free internal name cannot be written in Rego. */
export const COVERAGE_BUILTIN = 'portcullis.coverage-mark';

export type CoverageKind = 'expr' | 'head';

export interface CoverageMark {
  loc: Loc;
  kind: CoverageKind;
  /** The rule's name below `data` (`authz.allow`). */
  rule: string;
}

export class CoverageMarks {
  readonly marks: CoverageMark[] = [];

  /** A literal that records `loc` when evaluation reaches it (and always succeeds). */
  literal(host: HostBuiltins, rule: string, loc: Loc, kind: CoverageKind): Lit {
    const id = this.marks.push({ loc, kind, rule }) - 1;
    return ['call', ['host', host.id(COVERAGE_BUILTIN)], [['c', id]], -1];
  }
}
