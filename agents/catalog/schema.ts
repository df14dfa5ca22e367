/**
 * What an agent definition is: the JSON Schema its front matter must meet
 * (unknown keys refused) and the type it becomes once loaded.
 */

export const ROLES = ['planner', 'worker', 'reviewer', 'synthesizer'] as const;
export type Role = (typeof ROLES)[number];

/** Names of providers in the orchestrator's configuration (agents/providers/config.ts). */
export const PROVIDER_NAME = '^[a-z][a-z0-9-]{0,31}$';
/** A definition's name: also its identity (spiffe://<trust-domain>/agent/<name>), so an agent name. */
export const DEFINITION_NAME = '^[a-z][a-z0-9-]{0,63}$';
/** `<server>__<tool>`; `*` in the tool part matches any characters. The policy still decides each call. */
export const TOOL_PATTERN = '^[A-Za-z0-9._-]+__[A-Za-z0-9._*-]+$';

export interface ModelChoice {
  provider: string;
  model: string;
}

export interface Budgets {
  /** Model turns (one LLM request each) before the worker stops. */
  turns: number;
  /** Input plus output tokens over all turns. */
  tokens: number;
  /** Wall-clock seconds from the worker's start. */
  wall_clock_s: number;
}

/** The front matter as written. */
export interface DefinitionFrontMatter {
  name: string;
  role: Role | Role[];
  description: string;
  models: ModelChoice[];
  tools?: string[];
  budgets: Budgets;
  output_schema?: Record<string, unknown>;
}

export interface AgentDefinition {
  name: string;
  roles: Role[];
  description: string;
  /** The prompt template of each role (a single-role definition: the whole body). */
  prompts: Partial<Record<Role, string>>;
  models: ModelChoice[];
  tools: string[];
  budgets: Budgets;
  outputSchema: Record<string, unknown> | undefined;
  /** The file it was read from. */
  source: string;
}

const role = { type: 'string', enum: ROLES } as const;

export const FRONT_MATTER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'role', 'description', 'models', 'budgets'],
  properties: {
    name: { type: 'string', pattern: DEFINITION_NAME },
    role: { oneOf: [role, { type: 'array', items: role, minItems: 1, uniqueItems: true }] },
    description: { type: 'string', minLength: 1, maxLength: 500 },
    models: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['provider', 'model'],
        properties: { provider: { type: 'string', pattern: PROVIDER_NAME }, model: { type: 'string', minLength: 1, maxLength: 200 } },
      },
    },
    tools: { type: 'array', items: { type: 'string', pattern: TOOL_PATTERN }, uniqueItems: true, maxItems: 200 },
    budgets: {
      type: 'object',
      additionalProperties: false,
      required: ['turns', 'tokens', 'wall_clock_s'],
      properties: {
        turns: { type: 'integer', minimum: 1, maximum: 500 },
        tokens: { type: 'integer', minimum: 100, maximum: 100_000_000 },
        wall_clock_s: { type: 'integer', minimum: 1, maximum: 86_400 },
      },
    },
    output_schema: { type: 'object' },
  },
} as const;
