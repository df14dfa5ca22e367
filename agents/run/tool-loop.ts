/**
 * One agent's LLM tool-use loop: ask the model, run the tool calls it asks
 * for through the gateway (under this agent's own identity), give it the
 * results, until it answers without tool calls or a budget ends it. A
 * refusal goes back to the model as a tool error carrying the gateway's
 * reason; a held call waits for its approval (showing its hold id) and is
 * then retried as it was, which the approval lets through once.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallOutcome, GatewayClient } from '../../gateway/client/index.js';
import type { AgentDefinition } from '../catalog/schema.js';
import type { ModelRouter } from '../providers/failover.js';
import { toolResultsMessage } from '../providers/model.js';
import type { ConversationMessage, ModelRequest, ToolCallRequest, ToolOutput, ToolSpec } from '../providers/model.js';
import type { Transcript, TranscriptEntry } from './transcript.js';

export type LoopStatus = 'done' | 'cancelled' | 'budget_turns' | 'budget_tokens' | 'budget_wall_clock';

export interface LoopResult {
  status: LoopStatus;
  text: string;
  turns: number;
  tokens: number;
}

export interface LoopContext {
  definition: AgentDefinition;
  /** Which task of the run this loop works on (transcript and status lines). */
  taskId: string;
  router: ModelRouter;
  /** The agent's gateway connection; undefined for an agent without tools. */
  client: GatewayClient | undefined;
  tools: ToolSpec[];
  transcript: Transcript;
  /** The run's signal: cancelling the run ends the loop and its requests. */
  signal: AbortSignal;
  /** How often a held call is retried to see whether it was approved. */
  holdPollMs: number;
  consoleUrl: string | undefined;
  onStatus: (status: string) => void;
}

/** What the model is told a tool returned: the text of its content, or the gateway's refusal. */
function resultForModel(outcome: Exclude<CallOutcome, { status: 'held' }>): ToolOutput {
  if (outcome.status === 'refused') return { type: 'error-text', value: `Refused by the Portcullis gateway: ${outcome.message}` };
  const text = outcome.result.content.map((c) => (c.type === 'text' ? c.text : JSON.stringify(c))).join('\n');
  return { type: outcome.result.isError === true ? 'error-text' : 'text', value: text };
}

/** Runs one tool call; a held call waits here (re-asking every holdPollMs) until it is decided. */
async function runTool(ctx: LoopContext, call: ToolCallRequest, signal: AbortSignal): Promise<Exclude<CallOutcome, { status: 'held' }>> {
  const client = ctx.client;
  const args = call.input !== null && typeof call.input === 'object' && !Array.isArray(call.input) ? (call.input as Record<string, unknown>) : {};
  if (client === undefined || !ctx.tools.some((t) => t.name === call.name)) {
    // Never sent to the gateway: no call id.
    return { status: 'refused', code: 0, message: `the tool "${call.name}" is not available to this agent`, callId: undefined };
  }
  const started = performance.now();
  let announced: string | undefined;
  for (;;) {
    ctx.onStatus(`calling ${call.name}`);
    const outcome = await client.call(call.name, args, { signal, onProgress: (p) => ctx.onStatus(`${call.name}: ${p.message ?? `progress ${p.progress}`}`) });
    if (outcome.status !== 'held') {
      // call_id: the gateway's audit call id (`portcullis audit query --call-id`); tool_call_id: the model's.
      const entry: TranscriptEntry = { type: 'tool_call', task: ctx.taskId, agent: ctx.definition.name, tool: call.name, tool_call_id: call.id, call_id: outcome.callId, arguments: args };
      entry.session = client.sessionId;
      entry.outcome = outcome.status;
      if (outcome.status === 'refused') entry.error = { code: outcome.code, message: outcome.message };
      else entry.is_error = outcome.result.isError === true;
      if (announced !== undefined) entry.hold_id = announced;
      entry.elapsed_ms = Math.round(performance.now() - started);
      ctx.transcript.write(entry);
      return outcome;
    }
    if (announced !== outcome.holdId) {
      announced = outcome.holdId;
      ctx.transcript.write({
        type: 'hold',
        task: ctx.taskId,
        agent: ctx.definition.name,
        tool: call.name,
        tool_call_id: call.id,
        call_id: outcome.callId,
        hold_id: outcome.holdId,
        expires_at: outcome.expiresAt,
        console_url: ctx.consoleUrl,
      });
    }
    ctx.onStatus(`waiting for approval: hold ${outcome.holdId}${ctx.consoleUrl === undefined ? '' : ` (${ctx.consoleUrl})`}`);
    await sleep(ctx.holdPollMs, undefined, { signal });
  }
}

export async function toolLoop(ctx: LoopContext, system: string, prompt: string): Promise<LoopResult> {
  const { definition } = ctx;
  const wall = AbortSignal.timeout(definition.budgets.wall_clock_s * 1000);
  const signal = AbortSignal.any([ctx.signal, wall]);
  // Every model request and tool call of the loop listens to this signal: a few per turn, bounded by the turn budget.
  setMaxListeners(definition.budgets.turns * 4 + 16, signal);
  const messages: ConversationMessage[] = [{ role: 'user', content: prompt }];
  let tokens = 0;
  let text = '';
  const ended = (status: LoopStatus, turns: number): LoopResult => ({ status, text, turns, tokens });
  for (let turn = 1; turn <= definition.budgets.turns; turn++) {
    const request: ModelRequest = { system, messages, tools: ctx.tools };
    ctx.onStatus(`thinking (turn ${turn})`);
    let answer;
    try {
      answer = await ctx.router.ask(definition.models, request, signal, (event) => ctx.transcript.write({ ...event, task: ctx.taskId }));
    } catch (err) {
      if (ctx.signal.aborted) return ended('cancelled', turn - 1);
      if (wall.aborted) return ended('budget_wall_clock', turn - 1);
      throw err;
    }
    tokens += answer.inputTokens + answer.outputTokens;
    text = answer.text;
    ctx.transcript.write({
      type: 'llm_exchange',
      task: ctx.taskId,
      agent: definition.name,
      turn,
      provider: answer.provider,
      model: answer.model,
      input_tokens: answer.inputTokens,
      output_tokens: answer.outputTokens,
      text: answer.text,
      tool_calls: answer.toolCalls.map((c) => ({ id: c.id, name: c.name, input: c.input })),
    });
    messages.push(...answer.messages);
    if (answer.toolCalls.length === 0) return ended('done', turn);
    if (tokens >= definition.budgets.tokens) return ended('budget_tokens', turn);
    const results = [];
    for (const call of answer.toolCalls) {
      let outcome;
      try {
        outcome = await runTool(ctx, call, signal);
      } catch (err) {
        if (ctx.signal.aborted) return ended('cancelled', turn);
        if (wall.aborted) return ended('budget_wall_clock', turn);
        throw err;
      }
      results.push({ call, output: resultForModel(outcome) });
    }
    messages.push(toolResultsMessage(results));
  }
  return ended('budget_turns', definition.budgets.turns);
}
