/**
 * Prints gqlparser-shaped ASTs (what graphql.parse_query / parse_schema
 * return) back to GraphQL text, so the graphql.* built-ins accept either.
 */
import { BuiltinError } from '../operands.js';

/** A node of the JSON AST; fields are read defensively since policies build these by hand. */
type N = Record<string, unknown>;

const list = (v: unknown): N[] => (Array.isArray(v) ? (v as N[]) : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const names = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function value(v: unknown): string {
  const n = (v ?? {}) as N;
  const raw = text(n['Raw']);
  switch (n['Kind']) {
    case 0: return `$${raw}`;
    case 3: case 4: return JSON.stringify(raw);
    case 8: return `[${list(n['Children']).map((c) => value(c['Value'])).join(', ')}]`;
    case 9: return `{${list(n['Children']).map((c) => `${text(c['Name'])}: ${value(c['Value'])}`).join(', ')}}`;
    case 1: case 2: case 5: case 6: case 7: return raw;
    default: throw new BuiltinError('invalid GraphQL value in AST');
  }
}

function type(v: unknown): string {
  const t = (v ?? {}) as N;
  const base = t['Elem'] ? `[${type(t['Elem'])}]` : text(t['NamedType']);
  if (!base) throw new BuiltinError('invalid GraphQL type in AST');
  return base + (t['NonNull'] === true ? '!' : '');
}

const args = (v: unknown): string => {
  const as = list(v);
  return as.length === 0 ? '' : `(${as.map((a) => `${text(a['Name'])}: ${value(a['Value'])}`).join(', ')})`;
};

const directives = (v: unknown): string => list(v).map((d) => ` @${text(d['Name'])}${args(d['Arguments'])}`).join('');

function selectionSet(v: unknown): string {
  const ss = list(v);
  if (ss.length === 0) return '';
  return ` { ${ss.map((s) => {
    if ('TypeCondition' in s) {
      const on = text(s['TypeCondition']);
      return `...${on ? ` on ${on}` : ''}${directives(s['Directives'])}${selectionSet(s['SelectionSet'])}`;
    }
    if (!('Alias' in s)) return `...${text(s['Name'])}${directives(s['Directives'])}`;
    const name = text(s['Name']);
    const alias = text(s['Alias']);
    return `${alias && alias !== name ? `${alias}: ` : ''}${name}${args(s['Arguments'])}${directives(s['Directives'])}${selectionSet(s['SelectionSet'])}`;
  }).join(' ')} }`;
}

const variables = (v: unknown): string => {
  const vs = list(v);
  if (vs.length === 0) return '';
  return `(${vs.map((d) => `$${text(d['Variable'])}: ${type(d['Type'])}${d['DefaultValue'] ? ` = ${value(d['DefaultValue'])}` : ''}${directives(d['Directives'])}`).join(', ')})`;
};

export function printQuery(doc: N): string {
  const ops = list(doc['Operations']).map((o) =>
    `${text(o['Operation']) || 'query'} ${text(o['Name'])}${variables(o['VariableDefinitions'])}${directives(o['Directives'])}${selectionSet(o['SelectionSet'])}`);
  const frags = list(doc['Fragments']).map((f) =>
    `fragment ${text(f['Name'])}${variables(f['VariableDefinition'])} on ${text(f['TypeCondition'])}${directives(f['Directives'])}${selectionSet(f['SelectionSet'])}`);
  return [...ops, ...frags].join('\n');
}

const description = (v: unknown): string => (text(v) ? `${JSON.stringify(text(v))} ` : '');

const inputValues = (v: unknown, sep: string): string => list(v).map((a) =>
  `${description(a['Description'])}${text(a['Name'])}: ${type(a['Type'])}${a['DefaultValue'] ? ` = ${value(a['DefaultValue'])}` : ''}${directives(a['Directives'])}`).join(sep);

function fields(d: N): string {
  const fs = list(d['Fields']);
  if (fs.length === 0) return '';
  if (d['Kind'] === 'INPUT_OBJECT') return ` { ${inputValues(fs, ' ')} }`;
  return ` { ${fs.map((f) => {
    const as = list(f['Arguments']);
    return `${description(f['Description'])}${text(f['Name'])}${as.length ? `(${inputValues(as, ', ')})` : ''}: ${type(f['Type'])}${directives(f['Directives'])}`;
  }).join(' ')} }`;
}

const KEYWORD: Record<string, string> = { OBJECT: 'type', INTERFACE: 'interface', UNION: 'union', ENUM: 'enum', SCALAR: 'scalar', INPUT_OBJECT: 'input' };

function definition(d: N, extension: boolean): string {
  const keyword = KEYWORD[text(d['Kind'])];
  if (!keyword) throw new BuiltinError('invalid GraphQL definition kind in AST');
  const head = `${extension ? 'extend ' : description(d['Description'])}${keyword} ${text(d['Name'])}`;
  const interfaces = names(d['Interfaces']);
  const impl = interfaces.length ? ` implements ${interfaces.join(' & ')}` : '';
  const types = names(d['Types']);
  const union = types.length ? ` = ${types.join(' | ')}` : '';
  const values = list(d['EnumValues']);
  const enumBody = values.length ? ` { ${values.map((e) => `${description(e['Description'])}${text(e['Name'])}${directives(e['Directives'])}`).join(' ')} }` : '';
  return `${head}${impl}${directives(d['Directives'])}${union}${enumBody}${fields(d)}`;
}

function schema(s: N, extension: boolean): string {
  const ops = list(s['OperationTypes']);
  const body = ops.length ? ` { ${ops.map((o) => `${text(o['Operation'])}: ${text(o['Type'])}`).join(' ')} }` : '';
  return `${extension ? 'extend ' : description(s['Description'])}schema${directives(s['Directives'])}${body}`;
}

export function printSchema(doc: N): string {
  return [
    ...list(doc['Schema']).map((s) => schema(s, false)),
    ...list(doc['SchemaExtension']).map((s) => schema(s, true)),
    ...list(doc['Directives']).map((d) => {
      const as = list(d['Arguments']);
      return `${description(d['Description'])}directive @${text(d['Name'])}${as.length ? `(${inputValues(as, ', ')})` : ''}${d['IsRepeatable'] === true ? ' repeatable' : ''} on ${names(d['Locations']).join(' | ')}`;
    }),
    ...list(doc['Definitions']).map((d) => definition(d, false)),
    ...list(doc['Extensions']).map((d) => definition(d, true)),
  ].join('\n');
}
