/**
 * The planner: resolved, checked Rego modules → Plan (./ir.ts).
 */
import { RegoError } from '../rego/ast.js';
import { parseModule } from '../rego/parser.js';
import type { Import, Module } from '../rego/ast.js';
import { buildGroups, showPath } from './groups.js';
import type { GroupIndex } from './groups.js';
import { calleeByNames, HostBuiltins } from './callees.js';
import { isConstant, lowerConstant, lowerDef } from './lower.js';
import { splitEvaluatedDefault } from './defaults.js';
import type { LowerContext } from './lower.js';
import { checkRecursion } from './recursion.js';
import { inlineMetadataCalls } from './metadata-calls.js';
import type { CoverageMarks } from './coverage.js';
import type { ModuleScope, RootPath } from './resolve.js';
import type { Group, Plan } from './ir.js';

export interface CompileOptions {
  /** Rego sources by file name. */
  modules: Record<string, string>;
  /** Data paths to evaluate, written like `opa build -e`: "authz/allow". */
  entrypoints: string[];
  /** Compile coverage marks into the plan (`policy test --coverage`, see coverage.ts). */
  coverage?: CoverageMarks;
}

/** Parses and plans Rego sources; throws RegoError with a location on any problem. */
export function compileToPlan(options: CompileOptions): Plan {
  const modules = Object.entries(options.modules).map(([file, source]) => parseModule(source, file));
  return planModules(modules, options.entrypoints, options.coverage);
}

/** Entrypoints are data paths written with slashes, as for `opa build -e`: "authz/allow". */
function entrypointPath(name: string): string[] {
  const path = name.split('/').filter((p) => p !== '');
  if (path.length === 0) throw new RegoError('rego_compile_error', `invalid entrypoint "${name}"`);
  return path;
}

function importTarget(imp: Import): { alias: string; target: RootPath } | undefined {
  const t = imp.path;
  const head = t.type === 'ref' ? t.head : t;
  if (head.type !== 'var') throw new RegoError('rego_parse_error', 'invalid import path', imp.loc);
  const path: string[] = [];
  for (const p of t.type === 'ref' ? t.path : []) {
    if (p.type !== 'string') throw new RegoError('rego_parse_error', 'import path must be static', imp.loc);
    path.push(p.value);
  }
  if (head.name === 'rego' || head.name === 'future') return undefined;
  if (head.name !== 'input' && head.name !== 'data') {
    throw new RegoError('rego_parse_error', `invalid import ${head.name}: must begin with input or data`, imp.loc);
  }
  const alias = imp.alias ?? path[path.length - 1] ?? head.name;
  return { alias, target: { root: head.name, path } };
}

function moduleScope(module: Module, modules: Module[], index: GroupIndex, host: HostBuiltins): ModuleScope {
  const imports = new Map<string, RootPath>();
  for (const imp of module.imports) {
    const resolved = importTarget(imp);
    if (!resolved) continue;
    if (imports.has(resolved.alias)) throw new RegoError('rego_compile_error', `import must not shadow import ${resolved.alias}`, imp.loc);
    imports.set(resolved.alias, resolved.target);
  }
  const pkg = JSON.stringify(module.package);
  const ruleNames = new Set<string>();
  for (const m of modules) {
    if (JSON.stringify(m.package) !== pkg) continue;
    for (const r of m.rules) {
      const ref = r.head.ref;
      const head = ref.type === 'ref' ? ref.head : ref;
      if (head.type === 'var') ruleNames.add(head.name);
    }
  }
  const scope: ModuleScope = {
    package: module.package,
    imports,
    ruleNames,
    isFunction: (names) => calleeByNames(names, scope, index, host) !== undefined,
  };
  return scope;
}

export function planModules(modules: Module[], entrypoints: string[], coverage?: CoverageMarks): Plan {
  inlineMetadataCalls(modules);
  const index = buildGroups(modules);
  const host = new HostBuiltins();
  const scopes = new Map<Module, ModuleScope>(modules.map((m) => [m, moduleScope(m, modules, index, host)]));
  const hidden: Group[] = [];
  const locs = index.groups.map((g) => (g.rules[0] ?? g.defaultRule)?.rule.loc);
  const groups: Group[] = index.groups.map((g) => {
    const ctx = (m: Module): LowerContext => ({ index, host, scope: scopes.get(m)!, ...(coverage ? { coverage } : {}) });
    const group: Group = {
      path: g.path,
      kind: g.kind,
      keys: g.keys,
      leaf: g.leaf,
      defs: g.rules.map((r) => lowerDef(ctx(r.module), r)),
    };
    const d = g.defaultRule;
    const value = d?.rule.head.value;
    if (!d) return group;
    if (!value || isConstant(value) || g.kind === 'function') {
      group.default = value ? lowerConstant(value) : ['c', true];
      return group;
    }
    const defaultDef = lowerDef(ctx(d.module), { ...d, rule: { ...d.rule, isDefault: false, body: [], elses: [] } });
    const split = splitEvaluatedDefault(group, defaultDef, index.groups.length + hidden.length);
    hidden.push(split.hidden);
    locs.push(d.rule.loc);
    return split.rule;
  });
  groups.push(...hidden);
  checkRecursion(groups, index.tree, locs);
  return {
    version: 1,
    groups,
    tree: index.tree,
    entrypoints: entrypoints.map((name) => {
      const path = entrypointPath(name);
      if (!definesPath(index, path)) throw new RegoError('rego_compile_error', `entrypoint ${name} does not refer to a rule (${showPath(path)})`);
      return { name, path };
    }),
    hostBuiltins: host.names,
  };
}

/** True when `path` is a rule, lies inside one, or contains rules. */
function definesPath(index: GroupIndex, path: string[]): boolean {
  for (let i = 0; i <= path.length; i++) {
    const node = index.node(path.slice(0, i));
    if (!node) return false;
    if (node.g !== undefined) return true;
  }
  return true;
}
