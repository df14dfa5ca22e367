/**
 * Rewrites a policy (one or more Rego modules, any number of packages) into
 * rules that can be pasted into the single module the AMF validator builds
 * (`package profile_<name>`, future keywords imported): see opa-reference.ts.
 *
 * Token-level rewrite with the project's own lexer (never regexes over
 * source text):
 * - `package` lines go; `import rego.v1` and `import future.keywords...` go
 *   (OPA 0.47 has no rego.v1; the profile module imports the future
 *   keywords). Any other import is refused;
 * - every rule of package P is renamed `pcr<i>_<rule>` (i: P's index), both
 *   where it is defined or referenced bare inside P and where any module
 *   writes `data.<P>.<rule>`. A reference to a whole package, or to a
 *   package rule that does not exist, is refused; so is a local variable
 *   named like a rule of its package (the rename would change its meaning);
 * - strings are re-emitted as one-line JSON string literals (jsonTerm), so
 *   raw strings that span lines stay on one line;
 * - token separation is kept: a line break where there was one, a space
 *   where there was whitespace, nothing where tokens touched (`a.b` vs
 *   `a .b`). Comments go.
 */
import { parseModule } from '../gateway/policy/rego/parser.js';
import { tokenize, type Token } from '../gateway/policy/rego/lexer.js';
import type { Module, Rule, Term } from '../gateway/policy/rego/ast.js';

export interface MergedPolicy {
  /** The rewritten rules of every module, as Rego text without a package line. */
  rego: string;
  /** The new name of `data.<path>` (a rule path such as "portcullis.decision"). */
  ruleName(rulePath: string): string;
}

/** Thrown for Rego the rewrite cannot carry over faithfully. */
export class UnsupportedPolicyError extends Error {
  override name = 'UnsupportedPolicyError';
}

interface PackageInfo {
  path: string[];
  prefix: string;
  rules: Set<string>;
}

/** A rule's name: the head var of `p`, `p[x]` or `p contains x`; nested ref heads are refused. */
function ruleHeadName(rule: Rule, file: string): string {
  const ref = rule.head.ref;
  if (ref.type === 'var') return ref.name;
  if (ref.type === 'ref' && ref.head.type === 'var' && ref.path.length === 1 && ref.path[0]!.type !== 'string') return ref.head.name;
  throw new UnsupportedPolicyError(`${file}:${rule.loc.line}: rule heads with nested references are not supported`);
}

/** Every variable name in a term (binders are composites of vars). */
function varsIn(term: Term | undefined, out: Set<string>): void {
  if (term === undefined) return;
  switch (term.type) {
    case 'var': out.add(term.name); return;
    case 'array': case 'set': term.items.forEach((t) => varsIn(t, out)); return;
    case 'object': term.entries.forEach(([k, v]) => { varsIn(k, out); varsIn(v, out); }); return;
    default: return;
  }
}

/**
 * Names a rule binds locally: function parameters, `:=` targets, `some`
 * and `every` variables, anywhere in its bodies (comprehensions included).
 */
function localNames(rule: Rule): Set<string> {
  const names = new Set<string>();
  rule.head.args?.forEach((a) => varsIn(a, names));
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) { node.forEach(visit); return; }
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.kind === 'assign') varsIn(n.left as Term, names);
    if (n.kind === 'some-decl') (n.vars as Array<{ name: string }>).forEach((v) => names.add(v.name));
    if (n.kind === 'some-in' || n.kind === 'every') { varsIn(n.key as Term | undefined, names); varsIn(n.value as Term, names); }
    for (const [k, v] of Object.entries(n)) if (k !== 'loc') visit(v);
  };
  visit(rule.body);
  visit(rule.elses);
  return names;
}

function packageInfos(parsed: Array<{ file: string; module: Module }>): PackageInfo[] {
  const byPath = new Map<string, PackageInfo>();
  for (const { file, module } of parsed) {
    const key = module.package.join('.');
    let info = byPath.get(key);
    if (!info) {
      info = { path: module.package, prefix: `pcr${byPath.size}_`, rules: new Set() };
      byPath.set(key, info);
    }
    for (const rule of module.rules) info.rules.add(ruleHeadName(rule, file));
  }
  for (const { file, module } of parsed) {
    const info = byPath.get(module.package.join('.'))!;
    for (const rule of module.rules) {
      for (const name of localNames(rule)) {
        if (info.rules.has(name) && name !== '_') {
          throw new UnsupportedPolicyError(`${file}:${rule.loc.line}: local variable "${name}" has the name of a rule of its package`);
        }
      }
    }
  }
  return [...byPath.values()];
}

/**
 * A JSON value as one line of Rego text that survives the trip through the
 * profile: no `$` (the validator substitutes `$result`) and no character a
 * YAML block scalar may not hold (DEL, C1 controls, line separators, BOM).
 */
export function jsonTerm(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('not a JSON value');
  return text.replace(/[$\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

class ModuleRewriter {
  private readonly out: string[] = [];
  private i = 0;

  constructor(
    private readonly toks: Token[],
    private readonly file: string,
    private readonly own: PackageInfo,
    private readonly packages: PackageInfo[],
  ) {}

  run(): string {
    while (this.toks[this.i]!.kind !== 'eof') {
      const tok = this.toks[this.i]!;
      if (tok.kind === 'package' || tok.kind === 'import') {
        this.statement(tok);
      } else if (tok.kind === 'ident' && !this.afterRefDot()) {
        if (tok.text === 'data') this.dataRef(tok);
        else this.emit(tok, this.own.rules.has(tok.text) ? this.own.prefix + tok.text : tok.text);
      } else {
        this.emit(tok, tok.kind === 'string' ? jsonTerm(tok.value) : tok.text);
      }
    }
    return this.out.join('').trim();
  }

  /** `package ...` and `import ...` run to the end of their line. */
  private statement(first: Token): void {
    const words: string[] = [];
    this.i++;
    while (this.toks[this.i]!.kind !== 'eof' && !this.toks[this.i]!.nlBefore) words.push(this.toks[this.i++]!.text);
    if (first.kind === 'package') return;
    const path = words.join('');
    if (path === 'rego.v1' || path === 'future.keywords' || path.startsWith('future.keywords.')) return;
    throw new UnsupportedPolicyError(`${this.file}:${first.line}: import ${path} is not supported`);
  }

  /** The token before the current one is a `.` that makes it a field (`x.name`). */
  private afterRefDot(): boolean {
    const prev = this.toks[this.i - 1];
    return prev?.kind === '.' && !this.toks[this.i]!.wsBefore;
  }

  /** `data.a.b.rule...`: a package rule becomes its new name; other data paths stay. */
  private dataRef(dataTok: Token): void {
    const segments: string[] = [];
    let j = this.i + 1;
    while (this.toks[j]?.kind === '.' && !this.toks[j]!.wsBefore && this.toks[j + 1]?.kind === 'ident' && !this.toks[j + 1]!.wsBefore) {
      segments.push(this.toks[j + 1]!.text);
      j += 2;
    }
    const where = `${this.file}:${dataTok.line}`;
    const touched = this.packages.filter((p) => p.path.every((s, k) => k >= segments.length || segments[k] === s));
    const pkg = touched.filter((p) => p.path.length < segments.length).sort((a, b) => b.path.length - a.path.length)[0];
    if (pkg === undefined) {
      if (touched.length > 0) throw new UnsupportedPolicyError(`${where}: data.${segments.join('.')} refers to a whole package`);
      this.emit(dataTok, dataTok.text);
      return;
    }
    const rule = segments[pkg.path.length]!;
    if (!pkg.rules.has(rule)) throw new UnsupportedPolicyError(`${where}: data.${segments.join('.')}: package ${pkg.path.join('.')} has no rule ${rule}`);
    this.emit(dataTok, pkg.prefix + rule);
    this.i = this.i + 2 * (pkg.path.length + 1);
  }

  private emit(tok: Token, text: string): void {
    this.out.push(tok.nlBefore ? '\n' : tok.wsBefore ? ' ' : '', text);
    this.i++;
  }
}

/** Merges the modules (file name → source) into one body of rules for the profile module. */
export function mergeForProfile(modules: Record<string, string>): MergedPolicy {
  const parsed = Object.entries(modules).map(([file, source]) => ({ file, source, module: parseModule(source, file) }));
  const packages = packageInfos(parsed);
  const parts = parsed.map(({ file, source, module }) => {
    const own = packages.find((p) => p.path.join('.') === module.package.join('.'))!;
    return new ModuleRewriter(tokenize(source, file), file, own, packages).run();
  });
  return {
    rego: parts.join('\n\n'),
    ruleName(rulePath: string): string {
      const segments = rulePath.replace(/^data\./, '').split('.');
      const pkg = packages.find((p) => p.path.length === segments.length - 1 && p.path.every((s, k) => segments[k] === s));
      const rule = segments[segments.length - 1]!;
      if (!pkg || !pkg.rules.has(rule)) throw new UnsupportedPolicyError(`no rule data.${segments.join('.')}`);
      return pkg.prefix + rule;
    },
  };
}
