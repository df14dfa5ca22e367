/**
 * Groups rule definitions by the data path they define and builds the
 * virtual document tree. Rejects conflicting definitions at one path.
 */
import { RegoError } from '../rego/ast.js';
import type { Module, Rule, Term } from '../rego/ast.js';
import type { TreeNode } from './ir.js';

export interface SourceRule {
  module: Module;
  rule: Rule;
  /** Head terms below the group's static path (`p.q[x].r` at path p.q → [x, "r"]). */
  keys: Term[];
}

export interface GroupSource {
  path: string[];
  kind: 'rule' | 'function';
  keys: number;
  leaf: 'value' | 'set';
  arity: number;
  defaultRule?: SourceRule;
  rules: SourceRule[];
}

export interface GroupIndex {
  groups: GroupSource[];
  tree: TreeNode;
  /** The group defined exactly at `path`, if any. */
  at(path: readonly string[]): number | undefined;
  /** The node at `path`, if the tree has one. */
  node(path: readonly string[]): TreeNode | undefined;
}

export const showPath = (path: readonly string[]): string => ['data', ...path].join('.');

/** Splits a rule head into its static path (below data) and its dynamic keys. */
function splitHead(module: Module, rule: Rule): { path: string[]; keys: Term[] } {
  const ref = rule.head.ref;
  const parts: Term[] = ref.type === 'ref' ? [ref.head, ...ref.path] : [ref];
  const path = [...module.package];
  let i = 0;
  for (; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === 0 && p.type === 'var') path.push(p.name);
    else if (p.type === 'string') path.push(p.value);
    else break;
  }
  if (i === 0) throw new RegoError('rego_parse_error', 'rule head must start with a name', rule.head.loc);
  return { path, keys: parts.slice(i) };
}

export function buildGroups(modules: Module[]): GroupIndex {
  const groups: GroupSource[] = [];
  const byPath = new Map<string, number>();
  for (const module of modules) {
    for (const rule of module.rules) {
      const { path, keys } = splitHead(module, rule);
      const kind = rule.head.args ? 'function' : 'rule';
      const leaf = rule.head.contains ? 'set' : 'value';
      if (kind === 'function' && keys.length > 0) throw new RegoError('rego_parse_error', 'function names must be static', rule.head.loc);
      if (leaf === 'set' && rule.head.value) throw new RegoError('rego_parse_error', 'multi-value rules cannot have a value', rule.head.loc);
      const arity = rule.head.args?.length ?? 0;
      const key = JSON.stringify(path);
      let gi = byPath.get(key);
      if (gi === undefined) {
        gi = groups.length;
        groups.push({ path, kind, keys: keys.length, leaf, arity, rules: [] });
        byPath.set(key, gi);
      }
      const g = groups[gi]!;
      if (g.kind !== kind || g.keys !== keys.length || g.leaf !== leaf) {
        throw new RegoError('rego_type_error', `conflicting rules ${showPath(path)} found`, rule.loc);
      }
      if (g.arity !== arity) throw new RegoError('rego_type_error', `conflicting rules ${showPath(path)} found: function arity mismatch`, rule.loc);
      const source = { module, rule, keys };
      if (rule.isDefault) {
        if (g.defaultRule) throw new RegoError('rego_type_error', `multiple default rules ${showPath(path)} found`, rule.loc);
        if (keys.length > 0 || leaf === 'set') throw new RegoError('rego_type_error', `default rules must not have dynamic keys or contain: ${showPath(path)}`, rule.loc);
        g.defaultRule = source;
      } else g.rules.push(source);
    }
  }
  const tree: TreeNode = {};
  // Every package exists in data, even one without rules (an empty object).
  for (const module of modules) {
    let node = tree;
    for (const name of module.package) {
      node.c ??= {};
      node = node.c[name] ??= {};
    }
    node.c ??= {};
  }
  groups.forEach((g, gi) => {
    let node = tree;
    for (const name of g.path) {
      if (node.g !== undefined && groups[node.g]!.keys === 0) throw conflict(groups[node.g]!, g);
      node.c ??= {};
      node = node.c[name] ??= {};
    }
    node.g = gi;
    if (node.c && g.keys === 0) {
      const below = firstGroupBelow(node);
      if (below !== undefined) throw conflict(g, groups[below]!);
    }
  });
  const node = (path: readonly string[]): TreeNode | undefined => {
    let n: TreeNode | undefined = tree;
    for (const name of path) n = n?.c?.[name];
    return n;
  };
  return { groups, tree, node, at: (path) => node(path)?.g };
}

function firstGroupBelow(node: TreeNode): number | undefined {
  for (const child of Object.values(node.c ?? {})) {
    if (child.g !== undefined) return child.g;
    const below = firstGroupBelow(child);
    if (below !== undefined) return below;
  }
  return undefined;
}

function conflict(outer: GroupSource, inner: GroupSource): RegoError {
  const loc = (inner.rules[0] ?? inner.defaultRule)?.rule.loc;
  return new RegoError('rego_type_error', `rule ${showPath(inner.path)} conflicts with ${showPath(outer.path)}`, loc);
}
