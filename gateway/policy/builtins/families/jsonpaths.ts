/** json.filter, json.remove and json.patch: edits of documents addressed by paths. */
import { BuiltinError, arr, items, obj, type BuiltinTable } from '../operands.js';
import { RegoObject, RegoSet, equal, isNumber, typeName, type Value } from '../value.js';

/** JSON pointer token unescaping (~1 is "/", ~0 is "~"). */
const unescapeToken = (t: string): string => t.replace(/~1/g, '/').replace(/~0/g, '~');

/** Path segments of a "a/b/c" string or an array of segments. */
function pathSegments(p: Value): Value[] {
  if (typeof p === 'string') {
    const trimmed = p.replace(/^\//, '');
    return trimmed === '' ? [] : trimmed.split('/').map(unescapeToken);
  }
  if (Array.isArray(p)) return p;
  throw new BuiltinError(`paths must be strings or arrays of path segments, got ${typeName(p)}`);
}

/** A trie of paths: a node with `whole` covers everything below it. */
interface PathNode { whole: boolean; children: Map<string, PathNode> }

/** Segments compare as strings, so "0" addresses array index 0 and object key "0". */
const segmentKey = (s: Value): string => (typeof s === 'string' ? s : isNumber(s) ? String(s) : JSON.stringify(s));

function pathTrie(paths: Value | undefined): PathNode {
  if (!Array.isArray(paths) && !(paths instanceof RegoSet)) throw new BuiltinError('paths must be a set or an array');
  const root: PathNode = { whole: false, children: new Map() };
  for (const p of items(paths)) {
    let node = root;
    for (const seg of pathSegments(p)) {
      const k = segmentKey(seg);
      let next = node.children.get(k);
      if (!next) node.children.set(k, (next = { whole: false, children: new Map() }));
      node = next;
    }
    node.whole = true;
  }
  return root;
}

/** Keeps only what the trie names; undefined when nothing is kept. */
function keep(v: Value, node: PathNode): Value | undefined {
  if (node.whole) return v;
  if (v instanceof RegoObject) {
    const out = new RegoObject();
    for (const [k, x] of v.entries.values()) {
      const c = node.children.get(segmentKey(k));
      const kept = c && keep(x, c);
      if (kept !== undefined) out.set(k, kept);
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const c = node.children.get(String(i));
      const kept = c && keep(x, c);
      if (kept !== undefined) out.push(kept);
    });
    return out;
  }
  if (v instanceof RegoSet) {
    return new RegoSet(v.sorted().filter((x) => node.children.get(segmentKey(x))?.whole));
  }
  return undefined;
}

/** Drops what the trie names; undefined when the value itself is dropped. */
function drop(v: Value, node: PathNode): Value | undefined {
  if (node.whole) return undefined;
  if (node.children.size === 0) return v;
  if (v instanceof RegoObject) {
    const out = new RegoObject();
    for (const [k, x] of v.entries.values()) {
      const c = node.children.get(segmentKey(k));
      const rest = c ? drop(x, c) : x;
      if (rest !== undefined) out.set(k, rest);
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const c = node.children.get(String(i));
      const rest = c ? drop(x, c) : x;
      if (rest !== undefined) out.push(rest);
    });
    return out;
  }
  if (v instanceof RegoSet) return new RegoSet(v.sorted().filter((x) => !node.children.get(segmentKey(x))?.whole));
  return v;
}

// ---- json.patch (RFC 6902 over Rego values; sets take members as keys) ----

/** A JSON pointer (OPA also accepts one without the leading "/") or an array of segments. */
function patchPath(p: Value | undefined): Value[] {
  if (typeof p === 'string') {
    if (p === '') return [];
    return p.replace(/^\//, '').split('/').map(unescapeToken);
  }
  return arr(p);
}

function arrayIndex(seg: Value, length: number, forInsert: boolean): number {
  if (forInsert && seg === '-') return length;
  const s = typeof seg === 'string' ? seg : isNumber(seg) ? String(seg) : '';
  if (!/^(0|[1-9]\d*)$/.test(s)) throw new BuiltinError('invalid array index');
  const i = Number(s);
  if (i > length || (!forInsert && i === length)) throw new BuiltinError('array index out of range');
  return i;
}

function lookup(doc: Value, path: Value[]): Value {
  let cur = doc;
  for (const seg of path) {
    if (cur instanceof RegoObject) {
      const next = cur.get(seg);
      if (next === undefined) throw new BuiltinError('path does not exist');
      cur = next;
    } else if (Array.isArray(cur)) cur = cur[arrayIndex(seg, cur.length, false)] as Value;
    else if (cur instanceof RegoSet && cur.has(seg)) cur = seg;
    else throw new BuiltinError('path does not exist');
  }
  return cur;
}

/** Rebuilds `doc` with `edit` applied to the parent of the last path segment. */
function atParent(doc: Value, path: Value[], edit: (parent: Value, last: Value) => Value): Value {
  const [head, ...rest] = path;
  if (head === undefined) throw new BuiltinError('path must not be empty');
  if (rest.length === 0) return edit(doc, head);
  if (doc instanceof RegoObject) {
    const childDoc = doc.get(head);
    if (childDoc === undefined) throw new BuiltinError('path does not exist');
    const out = new RegoObject(doc.entries.values());
    out.set(head, atParent(childDoc, rest, edit));
    return out;
  }
  if (Array.isArray(doc)) {
    const i = arrayIndex(head, doc.length, false);
    const out = [...doc];
    out[i] = atParent(doc[i] as Value, rest, edit);
    return out;
  }
  if (doc instanceof RegoSet && doc.has(head)) {
    const out = new RegoSet(doc.sorted().filter((x) => !equal(x, head)));
    out.add(atParent(head, rest, edit));
    return out;
  }
  throw new BuiltinError('path does not exist');
}

function add(doc: Value, path: Value[], value: Value): Value {
  if (path.length === 0) return value;
  return atParent(doc, path, (parent, last) => {
    if (parent instanceof RegoObject) {
      const out = new RegoObject(parent.entries.values());
      out.set(last, value);
      return out;
    }
    if (Array.isArray(parent)) {
      const out = [...parent];
      out.splice(arrayIndex(last, parent.length, true), 0, value);
      return out;
    }
    if (parent instanceof RegoSet) {
      // A set member is its own key.
      if (!equal(last, value)) throw new BuiltinError('set members must equal their path segment');
      return new RegoSet([...parent.sorted(), value]);
    }
    throw new BuiltinError('cannot add to a scalar');
  });
}

function remove(doc: Value, path: Value[]): Value {
  return atParent(doc, path, (parent, last) => {
    if (parent instanceof RegoObject) {
      if (!parent.has(last)) throw new BuiltinError('path does not exist');
      const out = new RegoObject(parent.entries.values());
      out.delete(last);
      return out;
    }
    if (Array.isArray(parent)) {
      const out = [...parent];
      out.splice(arrayIndex(last, parent.length, false), 1);
      return out;
    }
    if (parent instanceof RegoSet && parent.has(last)) return new RegoSet(parent.sorted().filter((x) => !equal(x, last)));
    throw new BuiltinError('path does not exist');
  });
}

function applyOperation(doc: Value, op: RegoObject): Value {
  const path = patchPath(op.get('path'));
  const value = (): Value => {
    const v = op.get('value');
    if (v === undefined) throw new BuiltinError('operation needs a value');
    return v;
  };
  const from = (): Value[] => patchPath(op.get('from'));
  switch (op.get('op')) {
    case 'add': return add(doc, path, value());
    case 'remove': return remove(doc, path);
    case 'replace': return add(path.length === 0 ? doc : remove(doc, path), path, value());
    case 'move': {
      const src = from();
      const moved = lookup(doc, src);
      return add(src.length === 0 ? doc : remove(doc, src), path, moved);
    }
    case 'copy': return add(doc, path, lookup(doc, from()));
    case 'test':
      if (!equal(lookup(doc, path), value())) throw new BuiltinError('test operation failed');
      return doc;
    default: throw new BuiltinError('unknown patch operation');
  }
}

export const jsonPathBuiltins: BuiltinTable = {
  'json.filter': (o, paths) => keep(obj(o), pathTrie(paths)) ?? new RegoObject(),
  'json.remove': (o, paths) => drop(obj(o), pathTrie(paths)) ?? new RegoObject(),
  'json.patch': (doc, patches) => arr(patches).map(obj).reduce(applyOperation, doc as Value),
};

