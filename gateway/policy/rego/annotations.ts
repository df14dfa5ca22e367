/**
 * `# METADATA` annotations, as OPA reads them: a comment block whose first
 * line is `# METADATA` and whose following comment lines are YAML, placed
 * directly before a `package` or a rule. Its `scope` says what it describes:
 * `rule` (the rule it precedes; default before a rule), `document` (every
 * rule of that name), `package` (default before `package`) or `subpackages`
 * (the package and every package below it). Keys: title, description,
 * organizations, related_resources, authors, schemas, entrypoint, custom.
 *
 * The values are normalised as OPA presents them to `rego.metadata.*`:
 * an author written "Name <email>" becomes { name, email }, a related
 * resource written as a URL becomes { ref }.
 */
import { parse as parseYaml } from 'yaml';
import { RegoError } from './ast.js';
import type { Loc, Module, Rule, Term } from './ast.js';

export type AnnotationScope = 'rule' | 'document' | 'package' | 'subpackages';

/** The annotation object, in the JSON shape OPA gives rego.metadata.rule() and chain(). */
export type AnnotationValue = { scope: AnnotationScope } & Record<string, unknown>;

export interface Annotation {
  scope: AnnotationScope;
  /** Path below `data`: the package for package/subpackages, the package and rule name for rule/document. */
  path: string[];
  annotations: AnnotationValue;
  /** Where the `# METADATA` line is. */
  loc: Loc;
  /** The rule a rule-scoped annotation belongs to. */
  rule?: Rule;
}

const SCOPES: ReadonlySet<string> = new Set(['rule', 'document', 'package', 'subpackages']);
const KEYS: ReadonlySet<string> = new Set(['scope', 'title', 'description', 'organizations', 'related_resources', 'authors', 'schemas', 'entrypoint', 'custom']);

/** The static part of a rule's name below `data`: `p.q[x]` in package a → ["a", "p", "q"]. */
export function rulePath(module: Module, rule: Rule): string[] {
  const ref = rule.head.ref;
  if (ref.type === 'var') return [...module.package, ref.name];
  if (ref.type !== 'ref' || ref.head.type !== 'var') return module.package;
  const path = [...module.package, ref.head.name];
  for (const p of ref.path) {
    if (p.type !== 'string') break;
    path.push(p.value);
  }
  return path;
}

/** The `# METADATA` blocks of a parsed module; throws RegoError for a malformed one. */
export function moduleAnnotations(module: Module): Annotation[] {
  const comments = module.comments ?? [];
  const result: Annotation[] = [];
  for (let i = 0; i < comments.length; i++) {
    const head = comments[i]!;
    if (!head.ownLine || head.text.trim() !== 'METADATA') continue;
    const loc: Loc = { file: module.file, line: head.line, col: head.col };
    const lines: string[] = [];
    let last = head.line;
    // The block runs over the comment lines that follow, up to a line that starts another block.
    while (i + 1 < comments.length && comments[i + 1]!.ownLine && comments[i + 1]!.line === last + 1 && comments[i + 1]!.text.trim() !== 'METADATA') {
      i++;
      last = comments[i]!.line;
      lines.push(comments[i]!.text);
    }
    result.push(annotationOf(module, lines, loc, last));
  }
  return result;
}

function annotationOf(module: Module, lines: string[], loc: Loc, lastLine: number): Annotation {
  const fail = (detail: string): never => {
    throw new RegoError('rego_parse_error', `invalid METADATA block: ${detail}`, loc);
  };
  // "# title: x" leaves " title: x": drop the space every line shares.
  const text = (lines.every((l) => l.startsWith(' ') || l.trim() === '') ? lines.map((l) => l.slice(1)) : lines).join('\n');
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    return fail(`not YAML (${err instanceof Error ? err.message.split('\n')[0] : 'parse error'})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('expected a YAML mapping');
  const fields = raw as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (!KEYS.has(key)) fail(`unknown key '${key}' (expected one of ${[...KEYS].join(', ')})`);

  const target = nextStatement(module, lastLine);
  if (target === undefined) return fail('it must directly precede a package or a rule');
  const scope = fields.scope ?? (target === 'package' ? 'package' : 'rule');
  if (typeof scope !== 'string' || !SCOPES.has(scope)) return fail(`scope must be one of ${[...SCOPES].join(', ')}`);
  const onPackage = scope === 'package' || scope === 'subpackages';
  if (onPackage !== (target === 'package')) fail(`scope '${scope}' ${onPackage ? 'must precede the package' : 'must precede a rule'}`);

  const annotations: AnnotationValue = { scope: scope as AnnotationScope };
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'scope' || value === null || value === undefined) continue;
    annotations[key] = normalise(key, value, fail);
  }
  if (target === 'package') return { scope: scope as AnnotationScope, path: module.package, annotations, loc };
  return { scope: scope as AnnotationScope, path: rulePath(module, target), annotations, loc, rule: target };
}

/** The package (when the block precedes it) or the first rule after line `after`. */
function nextStatement(module: Module, after: number): 'package' | Rule | undefined {
  if (module.packageLoc !== undefined && module.packageLoc.line > after) return 'package';
  const rule = module.rules.find((r) => r.loc.line > after);
  if (rule === undefined) return undefined;
  // Only comments may stand between the block and its rule (no import, no other code).
  const blocked = module.imports.some((imp) => imp.loc.line > after && imp.loc.line < rule.loc.line);
  return blocked ? undefined : rule;
}

function normalise(key: string, value: unknown, fail: (detail: string) => never): unknown {
  switch (key) {
    case 'title': case 'description':
      if (typeof value !== 'string') fail(`${key} must be a string`);
      return value;
    case 'entrypoint':
      if (typeof value !== 'boolean') fail('entrypoint must be true or false');
      return value;
    case 'organizations':
      if (!Array.isArray(value) || !value.every((o) => typeof o === 'string')) fail('organizations must be a list of strings');
      return value;
    case 'authors':
      if (!Array.isArray(value)) fail('authors must be a list');
      return (value as unknown[]).map((a) => author(a, fail));
    case 'related_resources':
      if (!Array.isArray(value)) fail('related_resources must be a list');
      return (value as unknown[]).map((r) => resource(r, fail));
    case 'custom':
      if (typeof value !== 'object' || Array.isArray(value)) fail('custom must be a mapping');
      return value;
    default:
      return value;
  }
}

const AUTHOR_TEXT = /^(.*?)\s*<([^<>]+)>$/;

function author(a: unknown, fail: (detail: string) => never): Record<string, string> {
  if (typeof a === 'string') {
    const m = AUTHOR_TEXT.exec(a.trim());
    if (m === null) return { name: a.trim() };
    return m[1] === '' ? { email: m[2]! } : { name: m[1]!, email: m[2]! };
  }
  if (a === null || typeof a !== 'object') return fail('an author is a string or { name, email }');
  const { name, email } = a as Record<string, unknown>;
  if ((name !== undefined && typeof name !== 'string') || (email !== undefined && typeof email !== 'string') || (name === undefined && email === undefined)) {
    fail('an author needs a name or an email');
  }
  return { ...(name === undefined ? {} : { name: name as string }), ...(email === undefined ? {} : { email: email as string }) };
}

function resource(r: unknown, fail: (detail: string) => never): Record<string, string> {
  if (typeof r === 'string') return { ref: r };
  if (r === null || typeof r !== 'object' || typeof (r as { ref?: unknown }).ref !== 'string') return fail('a related resource is a URL or { ref, description }');
  const { ref, description } = r as { ref: string; description?: unknown };
  return typeof description === 'string' ? { ref, description } : { ref };
}

/** An annotation-like JSON value as a constant Rego term (for rego.metadata.* calls compiled to constants). */
export function constantTerm(value: unknown, loc: Loc): Term {
  if (value === null || value === undefined) return { type: 'null', loc };
  if (typeof value === 'boolean') return { type: 'boolean', value, loc };
  if (typeof value === 'number') return { type: 'number', value: String(value), loc };
  if (typeof value === 'string') return { type: 'string', value, loc };
  if (Array.isArray(value)) return { type: 'array', items: value.map((v) => constantTerm(v, loc)), loc };
  return { type: 'object', entries: Object.entries(value as Record<string, unknown>).map(([k, v]) => [{ type: 'string', value: k, loc }, constantTerm(v, loc)]), loc };
}
