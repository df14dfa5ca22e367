/** yaml.* built-ins. */
import { parse, stringify } from 'yaml';
import { str, type BuiltinTable } from '../operands.js';
import { fromJson, toJson, type Value } from '../value.js';

function unmarshal(text: string): Value {
  return fromJson(parse(text, { intAsBigInt: true, uniqueKeys: true }));
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
