/**
 * Resolves what a call calls: a user function (same package, imported, or by
 * data path), a built-in inside the runtime, or a built-in on the host.
 */
import { builtinArity } from '../builtins/catalog.js';
import { NATIVE_BUILTINS } from '../builtins/natives.js';
import type { Term } from '../rego/ast.js';
import type { Callee } from './ir.js';
import type { GroupIndex } from './groups.js';
import type { ModuleScope } from './resolve.js';

export interface ResolvedCallee {
  callee: Callee;
  /** Number of arguments, -1 for variadic. */
  arity: number;
  /** The name as OPA would print it. */
  name: string;
}

/** Host built-ins the plan calls, numbered in order of first use. */
export class HostBuiltins {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }
}

/** The static names of a function reference (`f`, `lib.f`, `data.pkg.f`), or undefined. */
export function staticNames(fn: Term): string[] | undefined {
  if (fn.type === 'var') return [fn.name];
  if (fn.type !== 'ref' || fn.head.type !== 'var') return undefined;
  const names = [fn.head.name];
  for (const p of fn.path) {
    if (p.type !== 'string') return undefined;
    names.push(p.value);
  }
  return names;
}

export function resolveCallee(fn: Term, scope: ModuleScope, index: GroupIndex, host: HostBuiltins): ResolvedCallee | undefined {
  const names = staticNames(fn);
  return names ? calleeByNames(names, scope, index, host) : undefined;
}

export function calleeByNames(names: string[], scope: ModuleScope, index: GroupIndex, host: HostBuiltins): ResolvedCallee | undefined {
  const [first, ...rest] = names as [string, ...string[]];
  const user = (path: string[]): ResolvedCallee | undefined => {
    const g = index.at(path);
    const group = g === undefined ? undefined : index.groups[g];
    if (g === undefined || group?.kind !== 'function') return undefined;
    return { callee: ['func', g], arity: group.arity, name: ['data', ...path].join('.') };
  };
  if (first === 'data') return user(rest);
  const imported = scope.imports.get(first);
  if (imported) return imported.root === 'data' ? user([...imported.path, ...rest]) : undefined;
  const local = user([...scope.package, ...names]);
  if (local) return local;
  const name = names.join('.');
  const arity = builtinArity(name);
  if (arity === undefined) return undefined;
  return { callee: NATIVE_BUILTINS.has(name) ? ['native', name] : ['host', host.id(name)], arity, name };
}
