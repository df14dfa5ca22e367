/**
 * The `# METADATA` annotations of a policy, for tools that report on it
 * (e.g. compliance reports reading `custom.controls`): every annotation of
 * the running modules (tests left out), in file and line order.
 */
import { moduleAnnotations } from './rego/annotations.js';
import type { AnnotationScope, AnnotationValue } from './rego/annotations.js';
import { parseModule } from './rego/parser.js';
import { policyModules, readPolicySources } from './bundle/sources.js';

export interface PolicyAnnotation {
  /** The module, relative to the policy folder. */
  file: string;
  line: number;
  scope: AnnotationScope;
  /** Below `data`: the package, or the package and rule name. */
  path: string[];
  /** As rego.metadata.rule() returns it: scope, title, description, custom, ... */
  annotations: AnnotationValue;
}

/** Annotations of Rego sources by file name; throws RegoError for a module or block that does not parse. */
export function policyAnnotations(modules: Record<string, string>): PolicyAnnotation[] {
  return Object.entries(modules).flatMap(([file, source]) =>
    moduleAnnotations(parseModule(source, file)).map((a) => ({ file, line: a.loc.line, scope: a.scope, path: a.path, annotations: a.annotations })));
}

/** Annotations of a policy folder's running modules (`_test.rego` files excluded). */
export function readPolicyAnnotations(dir: string): PolicyAnnotation[] {
  return policyAnnotations(policyModules(readPolicySources(dir)));
}
