/** json.* encoding and JSON Schema built-ins. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseJson, serialiseJson } from '../codec.js';
import { BuiltinError, bool, obj, str, type BuiltinTable } from '../operands.js';
import { RegoObject, toJson, type Value } from '../value.js';

/** Go's encoding/json escapes these characters inside strings. */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function marshal(v: Value): string {
  return goEscape(serialiseJson(v));
}

/** Go's json.Indent over compact JSON text, with the prefix on every line as OPA writes it. */
function indent(compact: string, prefix: string, unit: string): string {
  let out = prefix;
  let depth = 0;
  let inString = false;
  const newline = (d: number): string => `\n${prefix}${unit.repeat(d)}`;
  for (let i = 0; i < compact.length; i++) {
    const c = compact[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') out += compact[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    switch (c) {
      case '"': inString = true; out += c; break;
      case '{':
      case '[': {
        const close = c === '{' ? '}' : ']';
        if (compact[i + 1] === close) {
          out += c + close;
          i++;
        } else out += c + newline(++depth);
        break;
      }
      case '}':
      case ']': out += newline(--depth) + c; break;
      case ',': out += c + newline(depth); break;
      case ':': out += ': '; break;
      default: out += c;
    }
  }
  return out;
}

const MARSHAL_OPTIONS = new Set(['pretty', 'prefix', 'indent']);

function marshalWithOptions(v: Value, options: RegoObject): string {
  for (const k of options.keys()) {
    if (typeof k !== 'string' || !MARSHAL_OPTIONS.has(k)) throw new BuiltinError(`object contained unknown key ${JSON.stringify(k)}`);
  }
  const pretty = options.get('pretty');
  const prefix = options.get('prefix');
  const unit = options.get('indent');
  const wantsPretty = pretty === undefined ? prefix !== undefined || unit !== undefined : bool(pretty);
  if (!wantsPretty) return marshal(v);
  return indent(marshal(v), prefix === undefined ? '' : str(prefix), unit === undefined ? '\t' : str(unit));
}

function isValidJson(v: Value | undefined): boolean {
  if (typeof v !== 'string') return false;
  try {
    parseJson(v);
    return true;
  } catch {
    return false;
  }
}

// ---- JSON Schema (ajv), reporting errors in the shape OPA's gojsonschema gives ----

const newAjv = (): Ajv => new Ajv({ strict: false, allErrors: true, validateFormats: false });
let ajv = newAjv();
/** Compiled validators by schema text; ajv keeps every schema it compiles, so both are renewed when full. */
const validators = new Map<string, ValidateFunction>();

function validatorFor(schema: unknown): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    if (validators.size >= 100) {
      validators.clear();
      ajv = newAjv();
    }
    v = ajv.compile(schema as object);
    validators.set(key, v);
  }
  return v;
}

/** A schema or document given as a value or as JSON text. */
function jsonOperand(v: Value | undefined): unknown {
  if (typeof v === 'string') return toJson(parseJson(v));
  if (v === undefined) throw new BuiltinError('missing operand');
  return toJson(v);
}

function schemaProblem(schema: unknown): string | undefined {
  if (typeof schema !== 'object' && typeof schema !== 'boolean') return 'jsonschema: schema must be an object or boolean';
  if (ajv.validateSchema(schema as object) === true) return undefined;
  const badType = ajv.errors?.find((e) => e.keyword === 'enum' && e.instancePath.endsWith('/type'));
  if (badType) {
    const given = String(lookupPointer(schema, badType.instancePath));
    return `jsonschema: has a primitive type that is NOT VALID -- given: /${given}/ Expected valid values are:[array boolean integer number null object string]`;
  }
  return `jsonschema: ${ajv.errorsText(ajv.errors)}`;
}

function lookupPointer(doc: unknown, pointer: string): unknown {
  return pointer.split('/').slice(1).reduce<unknown>((cur, k) => (cur as Record<string, unknown> | undefined)?.[k], doc);
}

const GO_TYPE: Record<string, string> = { string: 'string', number: 'number', boolean: 'boolean', object: 'object' };

function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return GO_TYPE[typeof v] ?? typeof v;
}

function schemaError(e: ErrorObject, doc: unknown): Value {
  const field = e.instancePath === '' ? '(root)' : e.instancePath.slice(1).replace(/\//g, '.');
  let type: string = e.keyword;
  let desc = e.message ?? 'invalid';
  if (e.keyword === 'type') {
    type = 'invalid_type';
    desc = `Invalid type. Expected: ${String(e.params['type'])}, given: ${jsonTypeOf(lookupPointer(doc, e.instancePath))}`;
  } else if (e.keyword === 'required') {
    desc = `${String(e.params['missingProperty'])} is required`;
  }
  return RegoObject.fromRecord({ desc, error: `${field}: ${desc}`, field, type });
}

export const jsonBuiltins: BuiltinTable = {
  'json.marshal_with_options': (v, o) => marshalWithOptions(v as Value, obj(o)),
  'json.unmarshal': (s) => parseJson(str(s)),
  'json.is_valid': (s) => isValidJson(s),
  'json.verify_schema': (s) => {
    let problem: string | undefined;
    try {
      problem = schemaProblem(jsonOperand(s));
    } catch (e) {
      problem = `jsonschema: ${(e as Error).message}`;
    }
    return [problem === undefined, problem ?? null];
  },
  'json.match_schema': (d, s) => {
    const schema = jsonOperand(s);
    const problem = schemaProblem(schema);
    if (problem !== undefined) throw new BuiltinError(problem);
    const doc = jsonOperand(d);
    const validate = validatorFor(schema);
    if (validate(doc)) return [true, []];
    return [false, (validate.errors ?? []).map((e) => schemaError(e, doc))];
  },
};
