/**
 * Host built-in functions for the @open-policy-agent/opa-wasm loader
 * (`customBuiltins`), speaking the wire contract of ./wire.ts.
 */
import { parseValue, serialise } from './codec.js';
import type { BuiltinTable } from './operands.js';
import { HOST_PREFIX } from './wire.js';
import { aggregateBuiltins } from './families/aggregates.js';
import { awsBuiltins } from './families/aws.js';
import { cryptoBuiltins } from './families/crypto.js';
import { encodingBuiltins } from './families/encoding.js';
import { globBuiltins } from './families/glob.js';
import { graphBuiltins } from './families/graph.js';
import { graphqlBuiltins } from './families/graphql.js';
import { jsonBuiltins } from './families/json.js';
import { jwtBuiltins } from './families/jwt.js';
import { jsonPathBuiltins } from './families/jsonpaths.js';
import { miscBuiltins } from './families/misc.js';
import { netBuiltins } from './families/net.js';
import { numberBuiltins } from './families/numbers.js';
import { objectBuiltins } from './families/objects.js';
import { regexBuiltins } from './families/regex.js';
import { regoBuiltins } from './families/rego.js';
import { stringBuiltins } from './families/strings.js';
import { timeBuiltins } from './families/time.js';
import { unitBuiltins } from './families/units.js';
import { x509Builtins } from './families/x509.js';
import { yamlBuiltins } from './families/yaml.js';

export type HostBuiltin = (argsText: string) => string;

/**
 * Every host implementation by OPA name; a fresh table per policy instance,
 * since rand.intn and uuid.rfc4122 keep state. The loader only calls the
 * names the compiled module imports, so a built-in the runtime implements
 * natively (../wasm/natives.ts) is never dispatched here.
 */
export function hostImplementations(): BuiltinTable {
  return {
    ...aggregateBuiltins,
    ...awsBuiltins,
    ...cryptoBuiltins,
    ...encodingBuiltins,
    ...globBuiltins,
    ...graphBuiltins,
    ...graphqlBuiltins,
    ...jsonBuiltins,
    ...jwtBuiltins,
    ...jsonPathBuiltins,
    ...miscBuiltins(),
    ...netBuiltins,
    ...numberBuiltins(),
    ...objectBuiltins,
    ...regexBuiltins,
    ...regoBuiltins,
    ...stringBuiltins,
    ...timeBuiltins,
    ...unitBuiltins,
    ...x509Builtins,
    ...yamlBuiltins,
  };
}

/**
 * The customBuiltins object for the loader: `portcullis/<name>` → a function
 * of the argument array's value text returning the result's value text, or
 * "" when the result is undefined or the built-in failed.
 */
export function hostBuiltinImports(): Record<string, HostBuiltin> {
  const out: Record<string, HostBuiltin> = {};
  for (const [name, impl] of Object.entries(hostImplementations())) {
    out[HOST_PREFIX + name] = (argsText: string): string => {
      try {
        const args = parseValue(argsText);
        if (!Array.isArray(args)) return '';
        const result = impl(...args);
        return result === undefined ? '' : serialise(result);
      } catch {
        // OPA's WebAssembly target turns built-in errors into undefined.
        return '';
      }
    };
  }
  return out;
}
