/**
 * Framework files (frameworks/*.yaml): each maps a framework's controls to
 * evidence queries and status rules, and frameworks/queries.yaml holds the
 * queries they share by name. Validated at load against a schema that
 * rejects unknown keys, and every query a control names must exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { QuerySpec, Scalar } from './query.js';

export const STATUSES = ['met', 'partly', 'not met', 'not applicable'] as const;
/** Declared statuses, and the one no file can declare: computed when evidence is missing or cannot be trusted. */
export type Status = (typeof STATUSES)[number] | 'insufficient evidence';

export type Operand = Scalar | Scalar[] | { figure: string };

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | ({ figure: string } & Partial<Record<'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'includes', Operand>> & { exists?: boolean });

export interface StatusRule {
  when?: Condition;
  is: Exclude<Status, 'insufficient evidence'>;
  /** Why, in a sentence shown beside the status. */
  because?: string;
}

export interface Control {
  id: string;
  title: string;
  /** What the control claims when met, as the report states it. */
  claim: string;
  /** Figures by name: a shared query's name, or a query written here. */
  figures: Record<string, string | QuerySpec>;
  status: StatusRule[];
  /** `subject`: assessed only for a subject access request (--subject). */
  requires?: 'subject';
}

export interface Framework {
  id: string;
  title: string;
  description: string;
  /** Where the framework's text is published. */
  reference: string;
  controls: Control[];
}

const scalar = { type: ['string', 'number', 'boolean', 'null'] };
const operand = { anyOf: [scalar, { type: 'array', items: scalar }, { type: 'object', additionalProperties: false, required: ['figure'], properties: { figure: { type: 'string' } } }] };
const fieldTest = {
  anyOf: [
    scalar,
    { type: 'array', items: scalar },
    {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        ne: scalar, gt: { type: 'number' }, gte: { type: 'number' }, lt: { type: 'number' }, lte: { type: 'number' },
        in: { type: 'array', items: scalar }, exists: { type: 'boolean' }, includes: scalar, not_in: { type: 'string' },
      },
    },
  ],
};
const path1 = { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$' };
const groupField = { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(@hour|@day)?$' };
const querySchema = {
  type: 'object',
  additionalProperties: false,
  oneOf: [{ required: ['from'] }, { required: ['value'] }],
  properties: {
    from: path1,
    value: path1,
    where: { type: 'object', additionalProperties: fieldTest },
    measure: {
      anyOf: [
        { enum: ['count', 'size'] },
        ...['distinct', 'sum', 'median', 'max', 'min', 'tally'].map((k) => ({ type: 'object', additionalProperties: false, required: [k], properties: { [k]: path1 } })),
      ],
    },
    group_by: { anyOf: [groupField, { type: 'array', items: groupField, minItems: 1 }] },
    peak: { type: 'boolean' },
  },
};
const conditionSchema = {
  $id: 'condition',
  anyOf: [
    { type: 'object', additionalProperties: false, required: ['all'], properties: { all: { type: 'array', items: { $ref: 'condition' } } } },
    { type: 'object', additionalProperties: false, required: ['any'], properties: { any: { type: 'array', items: { $ref: 'condition' } } } },
    { type: 'object', additionalProperties: false, required: ['not'], properties: { not: { $ref: 'condition' } } },
    {
      type: 'object',
      additionalProperties: false,
      required: ['figure'],
      minProperties: 2,
      properties: { figure: { type: 'string' }, eq: operand, ne: operand, gt: operand, gte: operand, lt: operand, lte: operand, in: operand, includes: operand, exists: { type: 'boolean' } },
    },
  ],
};
const frameworkSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title', 'description', 'reference', 'controls'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9-]+$' },
    title: { type: 'string' },
    description: { type: 'string' },
    reference: { type: 'string' },
    controls: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'title', 'claim', 'figures', 'status'],
        properties: {
          id: { type: 'string' },
          title: { type: 'string' },
          claim: { type: 'string' },
          requires: { enum: ['subject'] },
          figures: { type: 'object', minProperties: 1, additionalProperties: { anyOf: [{ type: 'string' }, querySchema] } },
          status: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['is'],
              properties: { when: { $ref: 'condition' }, is: { enum: [...STATUSES] }, because: { type: 'string' } },
            },
          },
        },
      },
    },
  },
};
const librarySchema = { type: 'object', additionalProperties: false, required: ['queries'], properties: { queries: { type: 'object', additionalProperties: querySchema } } };

const ajv = new Ajv({ allErrors: false, strict: true, strictTypes: false, strictTuples: false, strictRequired: false, schemas: [conditionSchema] });
const validateFramework = ajv.compile<Framework>(frameworkSchema);
const validateLibrary = ajv.compile<{ queries: Record<string, QuerySpec> }>(librarySchema);

export class FrameworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameworkError';
  }
}

/** The frameworks shipped with Portcullis: beside the sources, or above dist/ when built. */
export function frameworksDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, 'frameworks'), path.resolve(here, '../../../agents/reporters/frameworks')];
  return candidates.find((dir) => existsSync(path.join(dir, 'queries.yaml'))) ?? (candidates[0] as string);
}

function readYaml(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'), { uniqueKeys: true });
  } catch (err) {
    throw new FrameworkError(`${file}: ${err instanceof Error ? err.message.split('\n')[0] : 'unreadable'}`);
  }
}

function invalid(file: string, errors: typeof validateFramework.errors): FrameworkError {
  const first = errors?.[0];
  return new FrameworkError(`${file}: ${first ? `${first.instancePath || '(top)'} ${first.message ?? 'is invalid'}` : 'invalid'}`);
}

export function loadQueries(dir = frameworksDir()): Record<string, QuerySpec> {
  const file = path.join(dir, 'queries.yaml');
  const doc = readYaml(file);
  if (!validateLibrary(doc)) throw invalid(file, validateLibrary.errors);
  return doc.queries;
}

/** Figures named in conditions must be the control's own. */
function conditionFigures(condition: Condition): string[] {
  if ('all' in condition) return condition.all.flatMap(conditionFigures);
  if ('any' in condition) return condition.any.flatMap(conditionFigures);
  if ('not' in condition) return conditionFigures(condition.not);
  const operands = Object.values(condition).flatMap((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && 'figure' in v ? [v.figure] : []));
  return [condition.figure, ...operands];
}

export function loadFramework(id: string, dir = frameworksDir(), queries = loadQueries(dir)): Framework {
  if (!/^[a-z0-9-]+$/.test(id)) throw new FrameworkError(`unknown framework "${id}"`);
  const file = path.join(dir, `${id}.yaml`);
  if (!existsSync(file)) throw new FrameworkError(`unknown framework "${id}"`);
  const doc = readYaml(file);
  if (!validateFramework(doc)) throw invalid(file, validateFramework.errors);
  for (const control of doc.controls) {
    for (const [name, figure] of Object.entries(control.figures)) {
      if (typeof figure === 'string' && !Object.hasOwn(queries, figure)) throw new FrameworkError(`${file}: ${control.id}: figure ${name} names no query "${figure}"`);
    }
    for (const rule of control.status) {
      const unknown = rule.when === undefined ? [] : conditionFigures(rule.when).filter((f) => !Object.hasOwn(control.figures, f));
      if (unknown.length > 0) throw new FrameworkError(`${file}: ${control.id}: status names no figure "${unknown[0]}"`);
    }
    if (control.status.at(-1)?.when !== undefined) throw new FrameworkError(`${file}: ${control.id}: the last status rule must have no "when" (the default)`);
  }
  return doc;
}

export const FRAMEWORKS = ['gdpr', 'iso27001', 'iso42001', 'dpga', 'owasp-mcp'] as const;
export type FrameworkId = (typeof FRAMEWORKS)[number];
