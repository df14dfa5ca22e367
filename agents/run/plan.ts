/**
 * The planner's plan: a DAG of subtasks, each assigned to an agent that can
 * work (not a planner or synthesizer). Parsed from the model's text (the JSON
 * object in it), validated against a schema, then checked for what a schema
 * cannot see: duplicate ids, unknown agents, dependencies on nothing
 * (dangling) and cycles.
 */
import { Ajv } from 'ajv';
import type { AgentDefinition } from '../catalog/schema.js';

export interface PlannedTask {
  id: string;
  agent: string;
  task: string;
  depends_on: string[];
  expected_output: string;
}

export interface Plan {
  tasks: PlannedTask[];
}

const PLAN_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['tasks'],
  properties: {
    tasks: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'agent', 'task', 'depends_on', 'expected_output'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
          agent: { type: 'string', minLength: 1 },
          task: { type: 'string', minLength: 1, maxLength: 20_000 },
          depends_on: { type: 'array', items: { type: 'string' }, uniqueItems: true },
          expected_output: { type: 'string', maxLength: 5000 },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: false, strict: true }).compile<Plan>(PLAN_SCHEMA);

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/** The JSON object in a model's answer (it may wrap it in prose or a code fence). */
function jsonIn(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start === -1 || end < start) throw new PlanError('the plan is not JSON: no object found in the answer');
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    throw new PlanError('the plan is not valid JSON');
  }
}

/** A cycle among the tasks as "a -> b -> a", or undefined (depth-first, bounded by the task count). */
function findCycle(tasks: PlannedTask[]): string | undefined {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id].join(' -> ');
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of byId.get(id)?.depends_on ?? []) {
      const cycle = visit(dep);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const task of tasks) {
    const cycle = visit(task.id);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/** The plan in `text`, or a PlanError saying what is wrong with it (the planner is shown this to repair it). */
export function parsePlan(text: string, agents: ReadonlyMap<string, AgentDefinition>): Plan {
  const data = jsonIn(text);
  if (!validate(data)) {
    const first = validate.errors?.[0];
    throw new PlanError(`the plan does not match its schema: ${first?.instancePath || '(top)'} ${first?.message ?? 'is invalid'}`);
  }
  const ids = new Set<string>();
  for (const task of data.tasks) {
    if (ids.has(task.id)) throw new PlanError(`the task id "${task.id}" is used twice`);
    ids.add(task.id);
    const agent = agents.get(task.agent);
    if (agent === undefined) throw new PlanError(`task "${task.id}" is assigned to "${task.agent}", which is not an agent`);
    if (!agent.roles.some((role) => role === 'worker' || role === 'reviewer')) throw new PlanError(`task "${task.id}" is assigned to "${task.agent}", which does not take subtasks`);
  }
  for (const task of data.tasks) {
    const dangling = task.depends_on.find((dep) => !ids.has(dep));
    if (dangling !== undefined) throw new PlanError(`task "${task.id}" depends on "${dangling}", which is not in the plan`);
  }
  const cycle = findCycle(data.tasks);
  if (cycle !== undefined) throw new PlanError(`the dependencies form a cycle: ${cycle}`);
  return data;
}
