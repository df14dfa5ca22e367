/** walk and the graph.* built-ins. */
import { obj, items, type BuiltinTable } from '../operands.js';
import { RegoObject, RegoSet, type Value } from '../value.js';

/** Every [path, value] pair under a value, root first (walk is a relation; the runtime iterates the array). */
function walk(root: Value): Value[] {
  const out: Value[] = [];
  const visit = (path: Value[], v: Value): void => {
    out.push([path, v]);
    if (Array.isArray(v)) v.forEach((x, i) => visit([...path, i], x));
    else if (v instanceof RegoObject) for (const [k, x] of v.sorted()) visit([...path, k], x);
    else if (v instanceof RegoSet) for (const x of v.sorted()) visit([...path, x], x);
  };
  visit([], root);
  return out;
}

/** Neighbours of a node (array or set); other values (null) have none. */
function neighbours(edges: Value): Value[] {
  return Array.isArray(edges) || edges instanceof RegoSet ? items(edges) : [];
}

function reachable(graph: RegoObject, initial: Value[]): RegoSet {
  const reached = new RegoSet();
  const queue = [...initial];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i] as Value;
    const edges = graph.get(node);
    if (edges === undefined || reached.has(node)) continue;
    reached.add(node);
    for (const n of neighbours(edges)) if (!reached.has(n)) queue.push(n);
  }
  return reached;
}

/**
 * Paths from each initial node, as OPA builds them: one depth-first search
 * per first edge, each with its own set of visited nodes; a path ends at a
 * node without edges, before a node missing from the graph, or where the
 * next node was already visited.
 */
function reachablePaths(graph: RegoObject, initial: Value[]): RegoSet {
  const out = new RegoSet();
  const search = (node: Value, path: Value[], visited: RegoSet): void => {
    const edges = graph.get(node);
    if (edges === undefined) {
      out.add(path);
      return;
    }
    const here = [...path, node];
    const next = neighbours(edges);
    if (next.length === 0) out.add(here);
    for (const n of next) {
      if (visited.has(n)) out.add(here);
      else {
        visited.add(node);
        search(n, here, visited);
      }
    }
  };
  for (const start of initial) {
    const edges = graph.get(start);
    if (edges === undefined) continue;
    const first = neighbours(edges);
    if (first.length === 0) out.add([start]);
    for (const n of first) search(n, [start], new RegoSet([start]));
  }
  return out;
}

export const graphBuiltins: BuiltinTable = {
  'walk': (v) => walk(v as Value),
  'graph.reachable': (g, initial) => reachable(obj(g), items(initial)),
  'graph.reachable_paths': (g, initial) => reachablePaths(obj(g), items(initial)),
};
