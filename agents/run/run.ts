/**
 * A run: the planner turns the task into a DAG of subtasks (a refused plan
 * is sent back once for repair), workers run as their dependencies finish
 * (at most `concurrency` at once), each with its own gateway identity and
 * the tools the gateway lists to it, and the synthesizer writes the answer
 * from every result. Cancelling the run's signal ends model requests and
 * tool calls in flight (the gateway cancels the upstream call).
 */
import { Ajv } from 'ajv';
import { GatewayClient } from '../../gateway/client/index.js';
import type { ClientIdentity } from '../../gateway/client/index.js';
import type { AgentDefinition } from '../catalog/schema.js';
import { fillTemplate } from '../catalog/template.js';
import type { ModelRouter } from '../providers/failover.js';
import type { ToolSpec } from '../providers/model.js';
import { parsePlan, PlanError } from './plan.js';
import type { Plan, PlannedTask } from './plan.js';
import { toolLoop } from './tool-loop.js';
import type { LoopContext, LoopStatus } from './tool-loop.js';
import type { Transcript } from './transcript.js';

export interface GatewayAccess {
  /** The gateway's aggregated MCP endpoint (…/mcp). */
  url: string;
  /** PEM of the CA of the gateway's server certificate. */
  ca?: string;
  /** A short-lived identity for one agent (the appliance mints it: spiffe://<trust-domain>/agent/<name>). */
  identityFor(agent: string): Promise<ClientIdentity>;
  /** The approval console, shown beside a held call's hold id. */
  consoleUrl?: string;
}

export type TaskStatus = LoopStatus | 'failed' | 'skipped';

export interface TaskResult {
  id: string;
  agent: string;
  status: TaskStatus;
  output: string;
  reason?: string;
}

export interface RunOptions {
  task: string;
  /** The planner and synthesizer. */
  orchestrator: AgentDefinition;
  agents: ReadonlyMap<string, AgentDefinition>;
  router: ModelRouter;
  gateway: GatewayAccess;
  transcript: Transcript;
  signal: AbortSignal;
  concurrency?: number;
  holdPollMs?: number;
  /** Each change of a task's status (the live view). */
  onStatus?: (taskId: string, status: string) => void;
}

export interface RunResult {
  status: 'done' | 'failed' | 'cancelled';
  answer?: string;
  plan?: Plan;
  tasks: TaskResult[];
  error?: string;
}

const outputAjv = new Ajv({ allErrors: false, strict: false });

/** Whether a definition's tool pattern (`*` matches anything) names this `<server>__<tool>`. */
export function matchesPattern(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return regex.test(name);
}

function agentList(agents: ReadonlyMap<string, AgentDefinition>): string {
  return [...agents.values()]
    .filter((a) => a.roles.some((role) => role === 'worker' || role === 'reviewer'))
    .map((a) => `- ${a.name} (${a.roles.join(', ')}): ${a.description}`)
    .join('\n');
}

function resultsText(results: readonly TaskResult[]): string {
  return results.map((r) => `### ${r.id} (${r.agent}, ${r.status}${r.reason === undefined ? '' : `: ${r.reason}`})\n${r.output}`).join('\n\n');
}

/** Why an output does not meet the agent's output schema, or undefined. */
function outputProblem(definition: AgentDefinition, text: string): string | undefined {
  if (definition.outputSchema === undefined) return undefined;
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  let data: unknown;
  try {
    data = JSON.parse(text.slice(start, end + 1));
  } catch {
    return 'the output is not the JSON its schema asks for';
  }
  const check = outputAjv.compile(definition.outputSchema);
  return check(data) ? undefined : `the output does not match its schema: ${check.errors?.[0]?.instancePath || '(top)'} ${check.errors?.[0]?.message ?? ''}`;
}

export class Run {
  private readonly results = new Map<string, TaskResult>();

  constructor(private readonly options: RunOptions) {}

  private status(taskId: string, status: string): void {
    this.options.onStatus?.(taskId, status);
  }

  private loopContext(definition: AgentDefinition, taskId: string, client: GatewayClient | undefined, tools: ToolSpec[]): LoopContext {
    const o = this.options;
    return {
      definition,
      taskId,
      router: o.router,
      client,
      tools,
      transcript: o.transcript,
      signal: o.signal,
      holdPollMs: o.holdPollMs ?? 1000,
      consoleUrl: o.gateway.consoleUrl,
      onStatus: (status) => this.status(taskId, status),
    };
  }

  async execute(): Promise<RunResult> {
    const o = this.options;
    const started = performance.now();
    o.transcript.write({ type: 'run_start', task: o.task, orchestrator: o.orchestrator.name });
    let result: RunResult;
    try {
      result = await this.phases();
    } catch (err) {
      result = { status: o.signal.aborted ? 'cancelled' : 'failed', tasks: [...this.results.values()], error: err instanceof Error ? err.message : String(err) };
    }
    o.transcript.write({ type: 'run_end', status: result.status, error: result.error, elapsed_ms: Math.round(performance.now() - started) });
    return result;
  }

  private async phases(): Promise<RunResult> {
    const o = this.options;
    const plan = await this.plan();
    if (plan === undefined) return { status: o.signal.aborted ? 'cancelled' : 'failed', tasks: [], error: 'the planner gave no usable plan' };
    await this.schedule(plan);
    const tasks = plan.tasks.map((t) => this.results.get(t.id) as TaskResult);
    if (o.signal.aborted) return { status: 'cancelled', plan, tasks };
    const synthesis = await toolLoop(
      this.loopContext(o.orchestrator, 'synthesis', undefined, []),
      'You are the synthesizer of a team of agents.',
      fillTemplate(o.orchestrator.prompts.synthesizer ?? '', { task: o.task, inputs: resultsText(tasks) }),
    );
    o.transcript.write({ type: 'synthesis', status: synthesis.status, answer: synthesis.text, tokens: synthesis.tokens });
    if (synthesis.status !== 'done') return { status: synthesis.status === 'cancelled' ? 'cancelled' : 'failed', plan, tasks, error: `synthesis ended: ${synthesis.status}` };
    return { status: 'done', answer: synthesis.text, plan, tasks };
  }

  /** The planner's plan; a refused one is sent back once with the reason. */
  private async plan(): Promise<Plan | undefined> {
    const o = this.options;
    let error: string | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const prompt = fillTemplate(o.orchestrator.prompts.planner ?? '', {
        task: o.task,
        agents: agentList(o.agents),
        error: error === undefined ? '' : `Your previous plan was refused: ${error}. Send a corrected plan.`,
      });
      const answer = await toolLoop(this.loopContext(o.orchestrator, 'plan', undefined, []), 'You are the planner of a team of agents.', prompt);
      if (answer.status !== 'done') return undefined;
      try {
        const plan = parsePlan(answer.text, o.agents);
        o.transcript.write({ type: 'plan', attempt, tasks: plan.tasks });
        return plan;
      } catch (err) {
        if (!(err instanceof PlanError)) throw err;
        error = err.message;
        o.transcript.write({ type: 'plan_refused', attempt, error });
      }
    }
    throw new PlanError(`the plan was refused twice; last: ${error ?? ''}`);
  }

  /** Runs every task once its dependencies have finished, at most `concurrency` at once. */
  private async schedule(plan: Plan): Promise<void> {
    const limit = Math.max(1, this.options.concurrency ?? 4);
    const waiting = new Set(plan.tasks);
    const running = new Map<string, Promise<void>>();
    while (waiting.size > 0 || running.size > 0) {
      for (const task of [...waiting]) {
        if (running.size >= limit) break;
        const deps = task.depends_on.map((id) => this.results.get(id));
        if (deps.some((d) => d === undefined)) continue;
        waiting.delete(task);
        const failed = deps.find((d) => d !== undefined && d.status !== 'done');
        if (failed !== undefined || this.options.signal.aborted) {
          const reason = failed === undefined ? 'the run was cancelled' : `dependency ${failed.id} ended ${failed.status}`;
          this.finish({ id: task.id, agent: task.agent, status: 'skipped', output: '', reason });
          continue;
        }
        running.set(
          task.id,
          this.work(task, deps as TaskResult[]).then((result) => {
            running.delete(task.id);
            this.finish(result);
          }),
        );
      }
      if (running.size === 0) {
        if (waiting.size > 0) continue;
        break;
      }
      await Promise.race(running.values());
    }
  }

  private finish(result: TaskResult): void {
    this.results.set(result.id, result);
    this.status(result.id, result.status);
  }

  /** One worker: its own identity and gateway session, its tool loop, its result. */
  private async work(task: PlannedTask, inputs: TaskResult[]): Promise<TaskResult> {
    const o = this.options;
    const definition = o.agents.get(task.agent) as AgentDefinition;
    const started = performance.now();
    const base = { id: task.id, agent: task.agent };
    let client: GatewayClient | undefined;
    try {
      this.status(task.id, 'connecting');
      if (definition.tools.length > 0) {
        client = await GatewayClient.connect({ url: o.gateway.url, identity: await o.gateway.identityFor(definition.name), ca: o.gateway.ca, clientName: `portcullis-agent/${definition.name}` });
      }
      const listed = client === undefined ? [] : await client.tools(o.signal);
      const tools: ToolSpec[] = listed
        .filter((tool) => definition.tools.some((pattern) => matchesPattern(pattern, tool.name)))
        .map((tool) => ({ name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), inputSchema: tool.inputSchema as Record<string, unknown> }));
      o.transcript.write({ type: 'task_start', task: task.id, agent: task.agent, session: client?.sessionId, tools: tools.map((t) => t.name) });
      const prompt = fillTemplate(definition.prompts.worker ?? definition.prompts.reviewer ?? '', { task: task.task, expected_output: task.expected_output, inputs: resultsText(inputs) });
      const loop = await toolLoop(this.loopContext(definition, task.id, client, tools), `You are ${definition.name}: ${definition.description}`, prompt);
      const problem = loop.status === 'done' ? outputProblem(definition, loop.text) : undefined;
      const result: TaskResult = { ...base, status: problem === undefined ? loop.status : 'failed', output: loop.text };
      if (problem !== undefined) result.reason = problem;
      o.transcript.write({ type: 'task_end', task: task.id, agent: task.agent, status: result.status, reason: result.reason, turns: loop.turns, tokens: loop.tokens, elapsed_ms: Math.round(performance.now() - started) });
      return result;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const status = o.signal.aborted ? 'cancelled' : 'failed';
      o.transcript.write({ type: 'task_end', task: task.id, agent: task.agent, status, reason, elapsed_ms: Math.round(performance.now() - started) });
      return { ...base, status, output: '', reason };
    } finally {
      await client?.close().catch(() => undefined);
    }
  }
}
