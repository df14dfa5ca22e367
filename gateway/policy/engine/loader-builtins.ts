/**
 * The loader's customBuiltins for a policy instance:
 * - the project's host built-ins under `portcullis/<name>` (value-text wire
 *   contract, see builtins/wire.ts) for modules built by our compiler;
 * - the same implementations under their plain OPA names, speaking the JSON
 *   the loader passes, for modules built by the real `opa build -t wasm`
 *   that call built-ins the npm loader does not ship. The loader's own
 *   implementations take precedence over these for the names it has.
 */
import { hostBuiltinImports, hostImplementations } from '../builtins/index.js';
import { fromJson, toJson } from '../builtins/value.js';
import type { LoaderBuiltins } from './engine.js';

export function policyBuiltins(): LoaderBuiltins {
  const builtins: LoaderBuiltins = { ...hostBuiltinImports() };
  for (const [name, impl] of Object.entries(hostImplementations())) {
    builtins[name] = (...args: unknown[]): unknown => {
      try {
        const result = impl(...args.map(fromJson));
        return result === undefined ? undefined : toJson(result);
      } catch {
        // OPA's WebAssembly target turns built-in errors into undefined.
        return undefined;
      }
    };
  }
  return builtins;
}
