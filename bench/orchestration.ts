/**
 * Issue 14: the orchestrator's own cost per tool step, the gateway call
 * excluded. One worker's tool-use loop runs a fixed number of steps (a model
 * turn asking for one tool call, then the call) against an instant provider:
 * the AI SDK's provider package talks to an in-process fetch that answers at
 * once with a precomputed body in the provider's real wire format, and the
 * gateway client is a stand-in that answers at once. What remains is ours and
 * the SDK's: building each request from the growing conversation, failover
 * bookkeeping, parsing the answer (JSON or SSE), the tool result, and the
 * sanitized JSONL transcript written to disk. Target: at most 1 ms a step.
 * The process's CPU time per step is reported beside the wall time: on a
 * shared machine the wall time also counts other processes' turns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentDefinition } from '../agents/catalog/schema.js';
import { providersFromObject } from '../agents/providers/config.js';
import { ModelRouter } from '../agents/providers/failover.js';
import { toolLoop } from '../agents/run/tool-loop.js';
import { Transcript } from '../agents/run/transcript.js';
import type { CallOutcome, GatewayClient } from '../gateway/client/index.js';
import { modelAnswer } from '../test-support/llm-wire.js';
import type { Flavor } from '../test-support/llm-wire.js';
import { median } from './load.js';
import { fixed, formatTable } from './table.js';

/** Steps of one loop: the coder's turn budget. */
const STEPS = 20;
const TOOL = 'bench__lookup';

export interface OrchestrationFigures {
  provider: Flavor;
  stream: boolean;
  steps: number;
  runs: number;
  /** Median over runs of (loop time / steps). */
  median_ms_per_step: number;
  min_ms_per_step: number;
  max_ms_per_step: number;
  /** Median over runs of (the process's CPU time during the loop / steps): what a loaded machine's waits do not inflate. */
  median_cpu_ms_per_step: number;
}

interface StepCost {
  wallMs: number;
  cpuMs: number;
}

const WORKER: AgentDefinition = {
  name: 'bench',
  roles: ['worker'],
  description: 'Looks things up.',
  prompts: { worker: 'Look it up.' },
  models: [{ provider: 'instant', model: 'bench-model' }],
  tools: [TOOL],
  budgets: { turns: STEPS, tokens: Number.MAX_SAFE_INTEGER, wall_clock_s: 3600 },
  outputSchema: undefined,
  source: 'bench',
};

const TOOL_RESULT: CallOutcome = { status: 'ok', result: { content: [{ type: 'text', text: 'the answer is 42' }] }, callId: '00000000-0000-4000-8000-000000000000' };

/** The gateway client's stand-in: every call answers at once (the gateway's own cost is measured elsewhere). */
const INSTANT_GATEWAY = { sessionId: 'bench-session', call: async (): Promise<CallOutcome> => TOOL_RESULT } as unknown as GatewayClient;

/** A fetch that answers every model request at once with one tool call, in `flavor`'s wire format. */
function instantProvider(flavor: Flavor, stream: boolean): typeof fetch {
  const answer = modelAnswer(flavor, { text: 'Looking it up.', calls: [{ name: TOOL, input: { query: 'the answer' } }], inputTokens: 900, outputTokens: 40 }, stream, 'bench-model', 0);
  return (async () => new Response(answer.body, { status: answer.status, headers: answer.headers })) as typeof fetch;
}

/** One loop of STEPS steps; its time per step, in ms. */
async function oneLoop(router: ModelRouter, transcript: Transcript): Promise<StepCost> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await toolLoop(
    {
      definition: WORKER,
      taskId: 'bench',
      router,
      client: INSTANT_GATEWAY,
      tools: [{ name: TOOL, description: 'Looks up a fact', inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } }],
      transcript,
      signal: new AbortController().signal,
      holdPollMs: 1000,
      consoleUrl: undefined,
      onStatus: () => undefined,
    },
    'You are bench: a worker.',
    'Look up the answer.',
  );
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (result.status !== 'budget_turns' || result.turns !== STEPS) throw new Error(`orchestration bench: the loop ended ${result.status} after ${result.turns} turns`);
  return { wallMs: elapsed / STEPS, cpuMs: (used.user + used.system) / 1000 / STEPS };
}

async function measureOne(flavor: Flavor, stream: boolean, runs: number, dir: string): Promise<OrchestrationFigures> {
  const kind = flavor === 'anthropic' ? 'anthropic' : 'openai';
  const providers = providersFromObject({ instant: { kind, base_url: 'http://instant.invalid/v1', api_key_env: 'BENCH_KEY', stream, retries: 0 } });
  const router = new ModelRouter(providers, { env: { BENCH_KEY: 'bench-key-not-secret' }, fetch: instantProvider(flavor, stream) });
  const transcript = new Transcript(`bench-${flavor}-${stream}`, path.join(dir, `${flavor}-${stream}.jsonl`));
  await oneLoop(router, transcript); // warm-up: JIT, module caches
  const costs: StepCost[] = [];
  for (let run = 0; run < runs; run++) costs.push(await oneLoop(router, transcript));
  const perStep = costs.map((c) => c.wallMs);
  return {
    provider: flavor,
    stream,
    steps: STEPS,
    runs,
    median_ms_per_step: median(perStep),
    min_ms_per_step: Math.min(...perStep),
    max_ms_per_step: Math.max(...perStep),
    median_cpu_ms_per_step: median(costs.map((c) => c.cpuMs)),
  };
}

/** Every provider format, JSON and SSE; `runs` loops of STEPS steps each. */
export async function measureOrchestration(runs: number): Promise<OrchestrationFigures[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bench-orchestration-'));
  try {
    const out: OrchestrationFigures[] = [];
    for (const flavor of ['anthropic', 'openai'] as const) for (const stream of [false, true]) out.push(await measureOne(flavor, stream, runs, dir));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function orchestrationReport(figures: readonly OrchestrationFigures[]): string {
  const rows = figures.map((f) => [`${f.provider} ${f.stream ? 'SSE' : 'JSON'}`, fixed(f.median_ms_per_step, 3), fixed(f.min_ms_per_step, 3), fixed(f.max_ms_per_step, 3), fixed(f.median_cpu_ms_per_step, 3)]);
  const first = figures[0];
  return [
    `\n== orchestration overhead per tool step (instant provider, gateway call excluded), median of ${first?.runs ?? 0} loops of ${first?.steps ?? 0} steps ==`,
    formatTable(['provider format', 'median ms/step', 'min', 'max', 'median CPU ms/step'], rows),
    'target: <= 1 ms per step (model request built and parsed through the AI SDK, failover bookkeeping, transcript on disk)',
  ].join('\n');
}
