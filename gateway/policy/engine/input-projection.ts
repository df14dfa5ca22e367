/**
 * The part of an input document a policy can read, from the input paths its
 * compiler recorded in the module (compiler/input-paths.ts). A policy cannot
 * tell the projected input from the whole one: every path it can reach holds
 * the same value. Modules without the record (built by `opa build`, or whose
 * plan may read all of input) get the whole input.
 */
import { INPUT_PATHS_SECTION } from '../compiler/input-paths.js';
import type { InputRecord } from '../compiler/input-paths.js';
import { customSections } from './opa-loader.js';
import { isPlainObject } from './strict-json.js';
import type { CompiledWasm } from './opa-loader.js';

/** Keys to keep below one level; `true` keeps the whole value there. */
type PathTree = Map<string, PathTree | true>;

function treeOf(paths: readonly string[][]): PathTree {
  const root: PathTree = new Map();
  for (const path of paths) {
    let node = root;
    for (const [i, key] of path.entries()) {
      const next = node.get(key);
      if (next === true) break; // a shorter path already keeps this whole subtree
      if (i === path.length - 1) {
        node.set(key, true);
        break;
      }
      const child: PathTree = next ?? new Map();
      node.set(key, child);
      node = child;
    }
  }
  return root;
}

function isPathList(value: unknown): value is string[][] {
  return Array.isArray(value) && value.every((p) => Array.isArray(p) && p.length > 0 && p.every((k) => typeof k === 'string'));
}

function isInputRecord(value: unknown): value is InputRecord {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return Object.keys(record).length === 2 && isPathList(record.paths) && typeof record.pure === 'boolean';
}

function projectWith(value: unknown, tree: PathTree): unknown {
  // Below an array or a scalar, a path can only index the value itself: keep it whole.
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of tree) {
    if (!Object.hasOwn(value, key)) continue;
    out[key] = sub === true ? value[key] : projectWith(value[key], sub);
  }
  return out;
}

export class InputProjection {
  private constructor(
    private readonly tree: PathTree,
    /** The module's decisions depend on the projected input alone (see compiler/input-paths.ts). */
    readonly pure: boolean,
  ) {}

  /** The module's recorded input paths; undefined when it has none (the whole input is passed). */
  static of(module: CompiledWasm): InputProjection | undefined {
    const [section, ...more] = customSections(module, INPUT_PATHS_SECTION);
    if (section === undefined || more.length > 0) return undefined;
    let record: unknown;
    try {
      record = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(section));
    } catch {
      return undefined;
    }
    return isInputRecord(record) ? new InputProjection(treeOf(record.paths), record.pure) : undefined;
  }

  /** A new document with only the readable subtrees of `input` (values are shared, never copied or changed). */
  apply(input: unknown): unknown {
    return projectWith(input, this.tree);
  }
}
