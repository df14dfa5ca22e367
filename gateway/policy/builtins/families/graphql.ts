/**
 * graphql.* built-ins on graphql-js, shaped like OPA's (gqlparser): ASTs in
 * gqlparser's JSON form without positions and empty fields, schemas that
 * need no Query type and may extend types they do not define.
 */
import {
  Kind, buildASTSchema, parse, validate, validateSchema,
  type ConstValueNode, type DefinitionNode, type DirectiveNode, type DocumentNode, type GraphQLSchema,
  type InputValueDefinitionNode, type SelectionNode, type TypeNode, type ValueNode, type VariableDefinitionNode,
} from 'graphql';
import { BuiltinError, type BuiltinTable } from '../operands.js';
import { RegoObject, fromJson, toJson, type Value } from '../value.js';
import { printQuery, printSchema } from './graphql-print.js';

type Json = string | number | boolean | Json[] | { [k: string]: Json | undefined };

/** Drops the fields gqlparser's JSON would leave out (absent or empty lists). */
function node(fields: { [k: string]: Json | undefined }): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

// gqlparser's ast.ValueKind numbering.
const VALUE_KIND = {
  [Kind.VARIABLE]: 0, [Kind.INT]: 1, [Kind.FLOAT]: 2, [Kind.STRING]: 3, [Kind.BOOLEAN]: 5,
  [Kind.NULL]: 6, [Kind.ENUM]: 7, [Kind.LIST]: 8, [Kind.OBJECT]: 9,
} as const;

function value(v: ValueNode | ConstValueNode): Json {
  switch (v.kind) {
    case Kind.VARIABLE: return { Kind: VALUE_KIND[v.kind], Raw: v.name.value };
    case Kind.STRING: return { Kind: v.block ? 4 : 3, Raw: v.value };
    case Kind.BOOLEAN: return { Kind: 5, Raw: String(v.value) };
    case Kind.NULL: return { Kind: 6, Raw: 'null' };
    case Kind.INT: case Kind.FLOAT: case Kind.ENUM: return { Kind: VALUE_KIND[v.kind], Raw: v.value };
    case Kind.LIST: return node({ Children: v.values.map((x) => ({ Name: '', Value: value(x) })), Kind: 8, Raw: '' });
    case Kind.OBJECT: return node({ Children: v.fields.map((f) => ({ Name: f.name.value, Value: value(f.value) })), Kind: 9, Raw: '' });
  }
}

function type(t: TypeNode): Json {
  switch (t.kind) {
    case Kind.NAMED_TYPE: return { NamedType: t.name.value, NonNull: false };
    case Kind.LIST_TYPE: return { Elem: type(t.type), NamedType: '', NonNull: false };
    case Kind.NON_NULL_TYPE: return { ...(type(t.type) as object), NonNull: true };
  }
}

const args = (list: readonly { name: { value: string }; value: ValueNode }[] | undefined): Json[] =>
  (list ?? []).map((a) => ({ Name: a.name.value, Value: value(a.value) }));

const directives = (list: readonly DirectiveNode[] | undefined): Json[] =>
  (list ?? []).map((d) => node({ Arguments: args(d.arguments), Location: '', Name: d.name.value }));

function selections(list: readonly SelectionNode[] | undefined): Json[] {
  return (list ?? []).map((s) => {
    switch (s.kind) {
      case Kind.FIELD: return node({
        Alias: (s.alias ?? s.name).value, Arguments: args(s.arguments), Directives: directives(s.directives),
        Name: s.name.value, SelectionSet: selections(s.selectionSet?.selections),
      });
      case Kind.FRAGMENT_SPREAD: return node({ Directives: directives(s.directives), Name: s.name.value });
      case Kind.INLINE_FRAGMENT: return node({
        Directives: directives(s.directives), SelectionSet: selections(s.selectionSet.selections),
        TypeCondition: s.typeCondition?.name.value ?? '',
      });
    }
  });
}

const variables = (list: readonly VariableDefinitionNode[] | undefined): Json[] =>
  (list ?? []).map((v) => node({
    DefaultValue: v.defaultValue && value(v.defaultValue), Directives: directives(v.directives),
    Type: type(v.type), Used: false, Variable: v.variable.name.value,
  }));

function queryAst(doc: DocumentNode): Json {
  const operations: Json[] = [];
  const fragments: Json[] = [];
  for (const d of doc.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION) {
      operations.push(node({
        Directives: directives(d.directives), Name: d.name?.value ?? '', Operation: d.operation,
        SelectionSet: selections(d.selectionSet.selections), VariableDefinitions: variables(d.variableDefinitions),
      }));
    } else if (d.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.push(node({
        Directives: directives(d.directives), Name: d.name.value, SelectionSet: selections(d.selectionSet.selections),
        TypeCondition: d.typeCondition.name.value, VariableDefinition: variables(d.variableDefinitions),
      }));
    }
  }
  return node({ Fragments: fragments, Operations: operations });
}

const inputValues = (list: readonly InputValueDefinitionNode[] | undefined): Json[] =>
  (list ?? []).map((a) => node({
    DefaultValue: a.defaultValue && value(a.defaultValue), Description: a.description?.value ?? '',
    Directives: directives(a.directives), Name: a.name.value, Type: type(a.type),
  }));

const DEFINITION_KIND: Partial<Record<Kind, string>> = {
  [Kind.OBJECT_TYPE_DEFINITION]: 'OBJECT', [Kind.OBJECT_TYPE_EXTENSION]: 'OBJECT',
  [Kind.INTERFACE_TYPE_DEFINITION]: 'INTERFACE', [Kind.INTERFACE_TYPE_EXTENSION]: 'INTERFACE',
  [Kind.UNION_TYPE_DEFINITION]: 'UNION', [Kind.UNION_TYPE_EXTENSION]: 'UNION',
  [Kind.ENUM_TYPE_DEFINITION]: 'ENUM', [Kind.ENUM_TYPE_EXTENSION]: 'ENUM',
  [Kind.SCALAR_TYPE_DEFINITION]: 'SCALAR', [Kind.SCALAR_TYPE_EXTENSION]: 'SCALAR',
  [Kind.INPUT_OBJECT_TYPE_DEFINITION]: 'INPUT_OBJECT', [Kind.INPUT_OBJECT_TYPE_EXTENSION]: 'INPUT_OBJECT',
};

/** A type definition or extension in gqlparser's ast.Definition form. */
function definition(d: DefinitionNode): Json {
  const any = d as DefinitionNode & {
    description?: { value: string }; name: { value: string }; directives?: readonly DirectiveNode[];
    interfaces?: readonly { name: { value: string } }[]; types?: readonly { name: { value: string } }[];
    values?: readonly { description?: { value: string }; name: { value: string }; directives?: readonly DirectiveNode[] }[];
    fields?: readonly (InputValueDefinitionNode | { description?: { value: string }; name: { value: string };
      arguments?: readonly InputValueDefinitionNode[]; type: TypeNode; directives?: readonly DirectiveNode[] })[];
  };
  const fields = d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION || d.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION
    ? inputValues(any.fields as readonly InputValueDefinitionNode[])
    : (any.fields ?? []).map((f) => node({
      Arguments: inputValues('arguments' in f ? f.arguments : undefined), Description: f.description?.value ?? '',
      Directives: directives(f.directives), Name: f.name.value, Type: type(f.type),
    }));
  return node({
    BuiltIn: false, Description: any.description?.value ?? '', Directives: directives(any.directives),
    EnumValues: (any.values ?? []).map((e) => node({ Description: e.description?.value ?? '', Directives: directives(e.directives), Name: e.name.value })),
    Fields: fields, Interfaces: (any.interfaces ?? []).map((i) => i.name.value), Kind: DEFINITION_KIND[d.kind] as string,
    Name: any.name.value, Types: (any.types ?? []).map((t) => t.name.value),
  });
}

function schemaAst(doc: DocumentNode): Json {
  const out: Record<string, Json[]> = { Definitions: [], Directives: [], Extensions: [], Schema: [], SchemaExtension: [] };
  for (const d of doc.definitions) {
    if (d.kind === Kind.SCHEMA_DEFINITION || d.kind === Kind.SCHEMA_EXTENSION) {
      (out[d.kind === Kind.SCHEMA_DEFINITION ? 'Schema' : 'SchemaExtension'] as Json[]).push(node({
        Description: ('description' in d ? d.description?.value : undefined) ?? '', Directives: directives(d.directives),
        OperationTypes: (d.operationTypes ?? []).map((o) => ({ Operation: o.operation, Type: o.type.name.value })),
      }));
    } else if (d.kind === Kind.DIRECTIVE_DEFINITION) {
      (out['Directives'] as Json[]).push(node({
        Arguments: inputValues(d.arguments), Description: d.description?.value ?? '', IsRepeatable: d.repeatable,
        Locations: d.locations.map((l) => l.value), Name: d.name.value,
      }));
    } else if (d.kind.endsWith('Extension')) (out['Extensions'] as Json[]).push(definition(d));
    else (out['Definitions'] as Json[]).push(definition(d));
  }
  return node(out);
}

// ---- parsing and validation ----

const EXECUTABLE = new Set<Kind>([Kind.OPERATION_DEFINITION, Kind.FRAGMENT_DEFINITION]);

function parseDoc(text: string, executable: boolean): DocumentNode {
  // gqlparser accepts a document without definitions; graphql-js does not.
  if (/^(?:[\s,\uFEFF]|#[^\n\r]*)*$/.test(text)) return { kind: Kind.DOCUMENT, definitions: [] };
  let doc: DocumentNode;
  try {
    doc = parse(text, { noLocation: true, allowLegacyFragmentVariables: true });
  } catch (e) {
    throw new BuiltinError(`${(e as Error).message} in GraphQL string`);
  }
  if (doc.definitions.some((d) => EXECUTABLE.has(d.kind) !== executable)) {
    throw new BuiltinError(executable ? 'a query may only hold operations and fragments' : 'a schema may only hold type system definitions');
  }
  return doc;
}

/** A query or schema operand: GraphQL text, or an AST as the parse built-ins return it. */
function textOperand(v: Value | undefined, what: 'query' | 'schema'): string {
  if (typeof v === 'string') return v;
  if (v instanceof RegoObject) {
    const ast = toJson(v) as Record<string, unknown>;
    return what === 'query' ? printQuery(ast) : printSchema(ast);
  }
  throw new BuiltinError(`${what} must be a GraphQL string or AST object`);
}

/** An extension of a type the document never defines becomes its definition, as gqlparser treats it. */
function promoteOrphanExtensions(doc: DocumentNode): DocumentNode {
  const defined = new Set(doc.definitions.flatMap((d) => ('name' in d && d.name && !d.kind.endsWith('Extension') ? [d.name.value] : [])));
  const definitions = doc.definitions.map((d) => {
    if (!d.kind.endsWith('TypeExtension') || !('name' in d) || !d.name || defined.has(d.name.value)) return d;
    defined.add(d.name.value);
    return { ...d, kind: d.kind.replace('Extension', 'Definition') } as DefinitionNode;
  });
  return { ...doc, definitions };
}

/** gqlparser does not require a query root type. */
const ROOT_TYPE_MISSING = /root type must be provided/;

function buildSchema(doc: DocumentNode): GraphQLSchema {
  let schema: GraphQLSchema;
  try {
    schema = buildASTSchema(promoteOrphanExtensions(doc));
  } catch (e) {
    throw new BuiltinError((e as Error).message);
  }
  const problems = validateSchema(schema).filter((e) => !ROOT_TYPE_MISSING.test(e.message));
  if (problems.length > 0) throw new BuiltinError(problems[0]?.message ?? 'invalid schema');
  return schema;
}

function verify(queryV: Value | undefined, schemaV: Value | undefined): { query: DocumentNode; schema: DocumentNode } {
  const query = parseDoc(textOperand(queryV, 'query'), true);
  const schema = parseDoc(textOperand(schemaV, 'schema'), false);
  const built = buildSchema(schema);
  if (query.definitions.length === 0) return { query, schema };
  let problems: readonly Error[];
  try {
    problems = validate(built, query);
  } catch (e) {
    // graphql-js refuses to validate against a schema without a query type.
    problems = [e as Error];
  }
  if (problems.length > 0) throw new BuiltinError(problems[0]?.message ?? 'invalid query');
  return { query, schema };
}

const succeeds = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

export const graphqlBuiltins: BuiltinTable = {
  'graphql.parse_query': (q) => fromJson(queryAst(parseDoc(textOperand(q, 'query'), true))),
  'graphql.parse_schema': (s) => fromJson(schemaAst(parseDoc(textOperand(s, 'schema'), false))),
  'graphql.parse': (q, s) => {
    const { query, schema } = verify(q, s);
    return [fromJson(queryAst(query)), fromJson(schemaAst(schema))];
  },
  'graphql.parse_and_verify': (q, s) => {
    try {
      const { query, schema } = verify(q, s);
      return [true, fromJson(queryAst(query)), fromJson(schemaAst(schema))];
    } catch {
      return [false, new RegoObject(), new RegoObject()];
    }
  },
  'graphql.is_valid': (q, s) => succeeds(() => verify(q, s)),
  'graphql.schema_is_valid': (s) => succeeds(() => buildSchema(parseDoc(textOperand(s, 'schema'), false))),
};
