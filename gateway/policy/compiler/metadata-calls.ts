/**
 * `rego.metadata.rule()` and `rego.metadata.chain()`, compiled as OPA's
 * compiler does: each call is replaced by a constant, the annotations of
 * the rule it is written in (../rego/annotations.ts).
 *
 * - rule(): the rule's rule-scoped annotation, or {} when it has none;
 * - chain(): [{ path, annotations? }] from the rule outwards: the rule (its
 *   entry always present, `annotations` only when it has a rule-scoped one),
 *   the document-scoped annotation of its name, its package's, then each
 *   enclosing package's `subpackages` annotation, nearest first.
 */
import { constantTerm, moduleAnnotations, rulePath } from '../rego/annotations.js';
import type { Annotation } from '../rego/annotations.js';
import type { Module, Rule, Term } from '../rego/ast.js';
import { rewriteRuleTerms } from '../rego/walk.js';
import { staticNames } from './callees.js';

const METADATA_CALLS = new Set(['rego.metadata.rule', 'rego.metadata.chain']);

function metadataCall(t: Term): 'rego.metadata.rule' | 'rego.metadata.chain' | undefined {
  if (t.type !== 'call' || t.args.length !== 0) return undefined;
  const name = staticNames(t.fn)?.join('.');
  return name !== undefined && METADATA_CALLS.has(name) ? (name as 'rego.metadata.rule' | 'rego.metadata.chain') : undefined;
}

const samePath = (a: string[], b: string[]): boolean => a.length === b.length && a.every((p, i) => p === b[i]);

/** Replaces every rego.metadata.* call in `modules` by its constant value. */
export function inlineMetadataCalls(modules: Module[]): void {
  let all: Annotation[] | undefined;
  for (const module of modules) {
    for (const rule of module.rules) {
      rewriteRuleTerms(rule, (t) => {
        const call = metadataCall(t);
        if (call === undefined) return undefined;
        all ??= modules.flatMap(moduleAnnotations);
        const value = call === 'rego.metadata.rule' ? ruleAnnotation(all, rule)?.annotations ?? {} : chain(all, module, rule);
        return constantTerm(value, t.loc);
      });
    }
  }
}

function ruleAnnotation(all: Annotation[], rule: Rule): Annotation | undefined {
  return all.find((a) => a.scope === 'rule' && a.rule === rule);
}

function chain(all: Annotation[], module: Module, rule: Rule): unknown[] {
  const path = rulePath(module, rule);
  const entries: unknown[] = [];
  const own = ruleAnnotation(all, rule);
  entries.push(own === undefined ? { path } : { path, annotations: own.annotations });
  const add = (a: Annotation | undefined): void => {
    if (a !== undefined) entries.push({ path: a.path, annotations: a.annotations });
  };
  add(all.find((a) => a.scope === 'document' && samePath(a.path, path)));
  add(all.find((a) => a.scope === 'package' && samePath(a.path, module.package)));
  for (let n = module.package.length; n > 0; n--) {
    const pkg = module.package.slice(0, n);
    add(all.find((a) => a.scope === 'subpackages' && samePath(a.path, pkg)));
  }
  return entries;
}
