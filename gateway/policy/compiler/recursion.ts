/**
 * Rejects recursive rules and functions (OPA forbids any cycle between
 * groups). A ref into data with a dynamic part depends on every group below
 * its static prefix, as in OPA.
 */
import { RegoError } from '../rego/ast.js';
import type { Loc } from '../rego/ast.js';
import type { Callee, Group, Lit, RefHead, STerm, TreeNode } from './ir.js';
import { showPath } from './groups.js';

function groupsBelow(node: TreeNode, into: Set<number>): void {
  if (node.g !== undefined) into.add(node.g);
  for (const child of Object.values(node.c ?? {})) groupsBelow(child, into);
}

/** Groups a data ref may read: constant keys descend, other keys match every child (as OPA's dynamic rule lookup). */
function dataDeps(node: TreeNode, path: STerm[], into: Set<number>): void {
  if (node.g !== undefined) into.add(node.g);
  const [p, ...rest] = path;
  if (!p) {
    groupsBelow(node, into);
    return;
  }
  if (p[0] !== 'c') {
    for (const child of Object.values(node.c ?? {})) dataDeps(child, rest, into);
    return;
  }
  // A non-string constant key can never name a rule.
  if (typeof p[1] !== 'string') return;
  const child = node.c?.[p[1]];
  if (child) dataDeps(child, rest, into);
}

function litDeps(tree: TreeNode, lits: Lit[], into: Set<number>): void {
  const callee = (c: Callee): void => { if (c[0] === 'func') into.add(c[1]); };
  const ref = (head: RefHead, path: STerm[]): void => {
    if (head[0] === 'rule') into.add(head[1]);
    else if (head[0] === 'data') dataDeps(tree, path, into);
  };
  for (const lit of lits) {
    switch (lit[0]) {
      case 'ref': ref(lit[1], lit[2]); break;
      case 'call': callee(lit[1]); break;
      case 'not': litDeps(tree, lit[1], into); break;
      case 'every': litDeps(tree, lit[4], into); break;
      case 'compr': litDeps(tree, lit[3], into); break;
      case 'with':
        for (const t of lit[1]) if (t[0] === 'fn') { callee(t[1]); callee(t[2]); }
        litDeps(tree, lit[2], into);
        break;
      default: break;
    }
  }
}

/** Throws rego_recursion_error for the first cycle found; `locs[g]` locates group g. */
export function checkRecursion(groups: Group[], tree: TreeNode, locs: Array<Loc | undefined>): void {
  const deps = groups.map((g) => {
    const into = new Set<number>();
    for (const d of g.defs) {
      litDeps(tree, d.body, into);
      for (const e of d.elses) litDeps(tree, e.body, into);
    }
    return into;
  });
  const state = new Array<0 | 1 | 2>(groups.length).fill(0);
  const stack: number[] = [];
  const visit = (g: number): void => {
    state[g] = 1;
    stack.push(g);
    for (const d of deps[g] ?? []) {
      if (state[d] === 1) {
        const cycle = [...stack.slice(stack.indexOf(d)), d].map((i) => showPath(groups[i]!.path));
        throw new RegoError('rego_recursion_error', `rule ${cycle[0]} is recursive: ${cycle.join(' -> ')}`, locs[d]);
      }
      if (state[d] === 0) visit(d);
    }
    stack.pop();
    state[g] = 2;
  };
  for (let g = 0; g < groups.length; g++) if (state[g] === 0) visit(g);
}
