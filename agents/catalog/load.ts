/**
 * Loads agent definitions: Markdown files whose YAML front matter (between
 * `---` lines) says what the agent is, and whose body is its prompt template.
 * A definition with several roles has one `## <role>` section per role.
 * Every problem is a DefinitionError naming the file and line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { isMap, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { FRONT_MATTER_SCHEMA } from './schema.js';
import type { AgentDefinition, DefinitionFrontMatter, Role } from './schema.js';
import { unknownPlaceholders } from './template.js';

export class DefinitionError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'DefinitionError';
  }
}

const ajv = new Ajv({ allErrors: false, strict: true });
const validateFrontMatter = ajv.compile<DefinitionFrontMatter>(FRONT_MATTER_SCHEMA);
/** Output schemas are the author's own JSON Schema: compiled (so a broken one fails at load), not held to strict mode. */
const outputAjv = new Ajv({ allErrors: false, strict: false });

const FENCE = /^---\s*$/;

interface Parts {
  frontMatter: string;
  /** 1-based line of the front matter's first line. */
  frontMatterLine: number;
  body: string;
  bodyLine: number;
}

function splitFile(file: string, text: string): Parts {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (!FENCE.test(lines[0] ?? '')) throw new DefinitionError(file, 1, 'a definition starts with a `---` line, then YAML front matter');
  const end = lines.findIndex((line, i) => i > 0 && FENCE.test(line));
  if (end === -1) throw new DefinitionError(file, lines.length, 'the front matter has no closing `---` line');
  return { frontMatter: lines.slice(1, end).join('\n'), frontMatterLine: 2, body: lines.slice(end + 1).join('\n'), bodyLine: end + 2 };
}

/** The JSON pointer's segments as YAML path keys (array indexes as numbers). */
function yamlPath(pointer: string): Array<string | number> {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** The 1-based line in the front matter of the value at `pointer` (or of its key `key`, e.g. an unknown one). */
function lineOf(doc: Document, counter: LineCounter, pointer: string, key?: unknown): number {
  const at = yamlPath(pointer);
  let node = at.length === 0 ? doc.contents : doc.getIn(at, true);
  const extra = key;
  if (typeof extra === 'string' && isMap(node)) {
    const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === extra);
    if (pair !== undefined && isScalar(pair.key)) node = pair.key;
  }
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range === undefined ? 1 : counter.linePos(range[0]).line;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'the front matter' : `"${yamlPath(error.instancePath).join('.')}"`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown key "${String(params.additionalProperty)}" in ${where}`;
    case 'required':
      return `missing key "${String(params.missingProperty)}" in ${where}`;
    default:
      return `${where} ${error.message ?? 'is invalid'}`;
  }
}

/** The body's `## <role>` sections, by role, with the line each starts on. */
function roleSections(file: string, body: string, bodyLine: number, roles: Role[]): Partial<Record<Role, string>> {
  if (roles.length === 1) return { [roles[0] as Role]: body.trim() };
  const sections: Partial<Record<Role, string>> = {};
  let current: Role | undefined;
  let lines: string[] = [];
  const close = (): void => {
    if (current !== undefined) sections[current] = lines.join('\n').trim();
  };
  body.split('\n').forEach((line, i) => {
    const heading = /^##\s+(\S+)\s*$/.exec(line);
    if (heading === null) {
      lines.push(line);
      return;
    }
    const role = heading[1] as Role;
    if (!roles.includes(role)) throw new DefinitionError(file, bodyLine + i, `section "## ${heading[1]}" names no role of this agent (${roles.join(', ')})`);
    close();
    current = role;
    lines = [];
  });
  close();
  for (const role of roles) {
    if (sections[role] === undefined || sections[role] === '') throw new DefinitionError(file, bodyLine, `an agent with several roles needs a "## ${role}" section with its prompt`);
  }
  return sections;
}

/** Reads and validates one definition file. */
export function loadDefinition(file: string): AgentDefinition {
  const { frontMatter, frontMatterLine, body, bodyLine } = splitFile(file, readFileSync(file, 'utf8'));
  const counter = new LineCounter();
  const doc = parseDocument(frontMatter, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    throw new DefinitionError(file, frontMatterLine - 1 + counter.linePos(yamlError.pos[0]).line, `front matter is not valid YAML: ${yamlError.code}`);
  }
  const data: unknown = doc.toJS();
  if (!validateFrontMatter(data)) {
    const first = validateFrontMatter.errors?.[0];
    const line = first === undefined ? 1 : lineOf(doc, counter, first.instancePath, (first.params as { additionalProperty?: unknown }).additionalProperty);
    throw new DefinitionError(file, frontMatterLine - 1 + line, first === undefined ? 'invalid front matter' : describe(first));
  }
  const roles = Array.isArray(data.role) ? data.role : [data.role];
  const prompts = roleSections(file, body, bodyLine, roles);
  const unknown = unknownPlaceholders(body)[0];
  if (unknown !== undefined) throw new DefinitionError(file, bodyLine + unknown.line, `unknown placeholder {{${unknown.name}}}`);
  if (data.output_schema !== undefined) {
    try {
      outputAjv.compile(data.output_schema);
    } catch (err) {
      const line = frontMatterLine - 1 + lineOf(doc, counter, '/output_schema');
      throw new DefinitionError(file, line, `output_schema is not a usable JSON Schema: ${(err as Error).message}`);
    }
  }
  return {
    name: data.name,
    roles,
    description: data.description,
    prompts,
    models: data.models,
    tools: data.tools ?? [],
    budgets: data.budgets,
    outputSchema: data.output_schema,
    source: file,
  };
}

/** Every `*.md` definition in a folder, by name; two files with one name are refused. */
export function loadDefinitions(dir: string): Map<string, AgentDefinition> {
  const definitions = new Map<string, AgentDefinition>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.md')).sort()) {
    const definition = loadDefinition(path.join(dir, name));
    const earlier = definitions.get(definition.name);
    if (earlier !== undefined) throw new DefinitionError(definition.source, 2, `the name "${definition.name}" is taken by ${earlier.source}`);
    definitions.set(definition.name, definition);
  }
  return definitions;
}

/** The definitions shipped with Portcullis: agents/definitions/ (beside the sources, or above dist/ when built). */
export function builtinDefinitionsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../definitions'), path.resolve(here, '../../../agents/definitions')];
  return candidates.find((dir) => existsSync(dir)) ?? (candidates[0] as string);
}
