/**
 * Built-in functions implemented inside the WebAssembly runtime
 * (./assembly). The planner emits ['native', name] calls for these; every
 * other built-in is called on the host through opa_builtin1 (see
 * ../builtins/wire.ts). Must match the NAMES list of ./assembly/natives.ts.
 */
export const NATIVE_BUILTINS: ReadonlySet<string> = new Set([
  'equal', 'neq', 'lt', 'lte', 'gt', 'gte',
  'plus', 'minus', 'mul', 'div', 'rem',
  'and', 'or',
  'internal.member_2', 'internal.member_3',
  'count', 'print',
  'startswith', 'endswith', 'contains', 'lower', 'upper', 'concat',
  'type_name', 'is_null', 'is_boolean', 'is_number', 'is_string', 'is_array', 'is_object', 'is_set',
  'split', 'trim', 'trim_left', 'trim_right', 'trim_prefix', 'trim_suffix',
  'floor', 'ceil', 'abs', 'sum',
  'json.marshal',
]);
