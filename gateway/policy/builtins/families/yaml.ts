/** yaml.* built-ins. */
import { parse, stringify } from 'yaml';
import { str, type BuiltinTable } from '../operands.js';
import { fromJson, toJson, type Value } from '../value.js';

/** YAML 1.1 (yes/no are booleans), as OPA's Go YAML decoder reads it. */
function unmarshal(text: string): Value {
  return fromJson(parse(text, { version: '1.1', intAsBigInt: true, uniqueKeys: true }));
}

export const yamlBuiltins: BuiltinTable = {
  'yaml.marshal': (v) => stringify(toJson(v as Value)),
  'yaml.unmarshal': (s) => unmarshal(str(s)),
  'yaml.is_valid': (s) => {
    if (typeof s !== 'string') return false;
    try {
      unmarshal(s);
      return true;
    } catch {
      return false;
    }
  },
};
