/**
 * The plan: the contract between the planner (planner.ts, TypeScript) and the
 * evaluator inside the WebAssembly runtime (../wasm/assembly, AssemblyScript).
 *
 * The planner lowers resolved Rego into this form; the linker (../wasm/link.ts)
 * serialises the plan as JSON into a data segment of the runtime module, and
 * the runtime decodes it once at instantiation.
 *
 * Everything here is plain JSON (tuples are arrays) so that it round-trips
 * through the runtime's JSON parser unchanged.
 *
 * Semantics in brief
 * - A body is a list of literals evaluated left to right over a set of
 *   environments (an environment is an array of `nslots` slots, each unbound
 *   or holding a value). Each literal maps one environment to zero or more
 *   environments. The planner has already ordered literals so that every
 *   variable a literal reads is bound before it (OPA's safety reordering).
 * - Simple terms (STerm) never contain refs, calls or comprehensions: the
 *   planner flattens those into earlier literals that bind fresh slots.
 * - Objects and sets iterate in OPA's sort order of keys/elements.
 * - Runtime errors (conflicting values of a complete rule or function,
 *   conflicting keys of an object rule, a `with` target that is invalid at
 *   runtime) abort evaluation through `opa_abort` with a message starting with
 *   the OPA error code, e.g. "eval_conflict_error: complete rules must not
 *   produce multiple outputs". Built-in function errors make the call
 *   undefined (OPA's non-strict WebAssembly behaviour).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A term built only from constants, slots and composites of those. */
export type STerm =
  /** A JSON scalar constant. Numbers are written as JSON numbers. */
  | ['c', null | boolean | number | string]
  /** A slot (variable) of the current definition. */
  | ['v', number]
  | ['arr', STerm[]]
  | ['obj', Array<[STerm, STerm]>]
  | ['set', STerm[]];

/** Where a `ref` literal starts. */
export type RefHead =
  | ['input']
  /** The root of `data`: base documents merged with the rule tree. */
  | ['data']
  /** The full value of a rule group (the planner resolved a static prefix to it). */
  | ['rule', number]
  /** Any simple term, e.g. a slot (`x[i]`) or a literal array (`[1, 2][i]`). */
  | ['t', STerm];

/** What a `call` literal calls. */
export type Callee =
  /** Implemented inside the runtime (see ../wasm/natives.ts). */
  | ['native', string]
  /** Implemented by the host, index into Plan.hostBuiltins. */
  | ['host', number]
  /** A user-defined function: index into Plan.groups (kind 'function'). */
  | ['func', number];

export type Lit =
  /** Unify two simple terms (structural; binds unbound slots on either side). */
  | ['unify', STerm, STerm]
  /**
   * Evaluate the reference head + path; path elements that are unbound slots
   * iterate (binding the slot to each key/index/element); bound elements look
   * up. Each value reached is bound to `out` (always a fresh slot). Undefined
   * yields no environment.
   */
  | ['ref', RefHead, STerm[], number]
  /**
   * Call with ground arguments. `out` >= 0: bind the result to that fresh
   * slot (undefined result: no environment). `out` = -1: the call is the
   * whole expression, so it succeeds when its result is defined and not false.
   */
  | ['call', Callee, STerm[], number]
  /** Succeeds when the term's value is not `false`. */
  | ['truthy', STerm]
  /** Succeeds when the body has no solution from this environment; binds nothing. */
  | ['not', Lit[]]
  /**
   * `some k, v in coll`: iterate the collection (arrays: index/element,
   * objects: key/value, sets: element/element) and unify `key` (if not null)
   * and `value` with each entry.
   */
  | ['scan', STerm, STerm | null, STerm]
  /**
   * `every k, v in coll { body }`: for each entry bind `key` (-1: none) and
   * `value` slots and evaluate body; succeeds when every entry has a solution.
   * Binds nothing outside. A collection that is not iterable is undefined.
   */
  | ['every', STerm, number, number, Lit[]]
  /**
   * Comprehension: evaluate body from this environment, collect `head` (for
   * 'object' head is ['arr', [key, value]]) per solution, bind the resulting
   * array / set / object to `out`. Conflicting object keys abort.
   */
  | ['compr', 'array' | 'set' | 'object', STerm, Lit[], number]
  /**
   * Evaluate `body` with the given replacements in force, then continue with
   * the environments it produced. Rule results computed under a `with` are
   * not shared with evaluation outside it.
   */
  | ['with', WithTarget[], Lit[]];

export type WithTarget =
  /** Replace `input` (path []) or the value at input.<path>. */
  | ['input', string[], STerm]
  /** Replace data.<path> (base document or rule output) with a value. */
  | ['data', string[], STerm]
  /** Replace a function (user or builtin) by another callee. */
  | ['fn', Callee, Callee]
  /** Replace a function (user or builtin) by a constant value (returned for any arguments). */
  | ['fnval', Callee, STerm];

/** One rule definition (one `p ... if { ... }` in the source, with its else chain). */
export interface Def {
  /** Slots used by params, body, else branches and every nested body. */
  nslots: number;
  /** Function parameters, unified with the call's arguments before the body. */
  params?: STerm[];
  /** Dynamic keys below the group's path (ref heads such as p[x].y[z]); length = Group.keys. */
  keys: STerm[];
  /** The value (for leaf 'set': the member). */
  value: STerm;
  body: Lit[];
  /** Tried in order when `body` (and every earlier else) has no solution. Complete rules and functions only. */
  elses: Array<{ value: STerm; body: Lit[] }>;
}

export interface Group {
  /** Full path below data, e.g. ["authz", "allow"]. */
  path: string[];
  kind: 'rule' | 'function';
  /** Number of dynamic keys of the head (0 for complete rules, partial sets; 1 for p[k] := v). */
  keys: number;
  /**
   * 'value': keys → value (keys = 0: a complete document, at most one distinct value);
   * 'set': keys → set of members (keys = 0: a partial set).
   */
  leaf: 'value' | 'set';
  /** `default` value (complete rules and functions). */
  default?: STerm;
  defs: Def[];
}

/** The virtual document tree: which groups live under which names. */
export interface TreeNode {
  /** A group rooted exactly here. */
  g?: number;
  /** Children by name. */
  c?: { [name: string]: TreeNode };
}

export interface Plan {
  /** Format version of this contract. */
  version: 1;
  groups: Group[];
  tree: TreeNode;
  /** Each entrypoint names a data path, e.g. { name: "authz/allow", path: ["authz", "allow"] }. */
  entrypoints: Array<{ name: string; path: string[] }>;
  /** OPA names of the host built-ins the plan calls, in the order of their ids. */
  hostBuiltins: string[];
}
