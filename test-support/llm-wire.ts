/**
 * Model answers in the providers' real wire formats, as the AI SDK reads
 * them: Anthropic Messages (JSON, or SSE with text and tool_use blocks) and
 * OpenAI chat completions (JSON, or SSE chunks with tool_calls; what
 * OpenAI-compatible servers speak too). The tests' fake provider servers
 * (test/fixtures/llm-servers.ts) and the orchestration bench (an in-process
 * fetch) answer with these.
 */

export type Flavor = 'anthropic' | 'openai';

export interface ScriptedToolCall {
  name: string;
  input: Record<string, unknown>;
}

/** A model answer: text, tool calls, token counts (10 and 5 unless given). */
export interface ScriptedAnswer {
  text?: string;
  calls?: ScriptedToolCall[];
  inputTokens?: number;
  outputTokens?: number;
}

/** An HTTP answer to write or wrap in a Response. */
export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function sse(events: Array<{ event?: string; data: unknown }>): WireAnswer {
  const body = events.map((e) => `${e.event === undefined ? '' : `event: ${e.event}\n`}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`).join('');
  return { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }, body };
}

export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): WireAnswer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function anthropicAnswer(step: ScriptedAnswer, stream: boolean, model: string, n: number): WireAnswer {
  const usage = { input_tokens: step.inputTokens ?? 10, output_tokens: step.outputTokens ?? 5 };
  const calls = step.calls ?? [];
  type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };
  const content: Block[] = [
    ...(step.text === undefined ? [] : [{ type: 'text' as const, text: step.text }]),
    ...calls.map((c, i) => ({ type: 'tool_use' as const, id: `toolu_${n}_${i}`, name: c.name, input: c.input })),
  ];
  const stopReason = calls.length > 0 ? 'tool_use' : 'end_turn';
  if (!stream) return jsonAnswer(200, { id: `msg_${n}`, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage });
  const events: Array<{ event: string; data: unknown }> = [
    {
      event: 'message_start',
      data: { type: 'message_start', message: { id: `msg_${n}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } } },
    },
  ];
  content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
      const text = block.text;
      for (const piece of [text.slice(0, Math.ceil(text.length / 2)), text.slice(Math.ceil(text.length / 2))]) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } } });
      }
    } else {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } } });
      const args = JSON.stringify(block.input);
      for (const piece of [args.slice(0, 3), args.slice(3)]) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } } });
      }
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } } });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return sse(events);
}

function openaiAnswer(step: ScriptedAnswer, stream: boolean, model: string, n: number): WireAnswer {
  const usage = { prompt_tokens: step.inputTokens ?? 10, completion_tokens: step.outputTokens ?? 5, total_tokens: (step.inputTokens ?? 10) + (step.outputTokens ?? 5) };
  const calls = (step.calls ?? []).map((c, i) => ({ id: `call_${n}_${i}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } }));
  const finish = calls.length > 0 ? 'tool_calls' : 'stop';
  const base = { id: `chatcmpl-${n}`, created: 1_700_000_000, model };
  if (!stream) {
    const message = { role: 'assistant', content: step.text ?? null, ...(calls.length > 0 ? { tool_calls: calls } : {}) };
    return jsonAnswer(200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage });
  }
  const chunk = (delta: unknown, finishReason: string | null = null) => ({ data: { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] } });
  const events = [chunk({ role: 'assistant', content: '' })];
  if (step.text !== undefined) events.push(chunk({ content: step.text }));
  calls.forEach((c, index) => {
    events.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }));
    events.push(chunk({ tool_calls: [{ index, function: { arguments: c.function.arguments } }] }));
  });
  events.push(chunk({}, finish));
  return sse([...events, { data: { ...base, object: 'chat.completion.chunk', choices: [], usage } }, { data: '[DONE]' }]);
}

/** The `n`th answer of a conversation (ids are made unique by `n`), as `flavor` sends it. */
export function modelAnswer(flavor: Flavor, step: ScriptedAnswer, stream: boolean, model: string, n: number): WireAnswer {
  return flavor === 'anthropic' ? anthropicAnswer(step, stream, model, n) : openaiAnswer(step, stream, model, n);
}

/** The error body each provider sends with a failure status. */
export function errorBody(flavor: Flavor, status: number): unknown {
  return flavor === 'anthropic'
    ? { type: 'error', error: { type: status === 529 ? 'overloaded_error' : status === 429 ? 'rate_limit_error' : 'api_error', message: `status ${status}` } }
    : { error: { message: `status ${status}`, type: 'server_error', code: null } };
}
