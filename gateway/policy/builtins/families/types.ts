/** type_name and the is_* checks. */
import type { BuiltinTable } from '../operands.js';
import { typeName, type TypeName, type Value } from '../value.js';

function isType(t: TypeName) {
  return (v: Value): Value => typeName(v) === t;
}

export const typeBuiltins: BuiltinTable = {
  'type_name': (v) => typeName(v as Value),
  'is_null': isType('null'),
  'is_boolean': isType('boolean'),
  'is_number': isType('number'),
  'is_string': isType('string'),
  'is_array': isType('array'),
  'is_object': isType('object'),
  'is_set': isType('set'),
};
