/**
 * The thin adapter over the AI SDK's provider packages: one provider-neutral
 * request (system prompt, messages, tools as JSON Schemas) to one model of
 * one provider, and its answer (text, tool calls, token counts). The
 * provider packages speak each wire format (Anthropic Messages, OpenAI chat
 * completions, OpenAI-compatible servers), JSON or SSE.
 *
 * The model is called through its LanguageModelV3 interface (`doGenerate`,
 * `doStream`), not through `generateText`/`streamText`: those validate the
 * whole conversation against their schemas on every request, a cost that
 * grows with each turn (most of a tool step's time). Every message here is
 * built by this module or the tool loop in the prompt format the providers
 * take, so it is valid by construction. No retries here: failover.ts decides.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { NoContentGeneratedError } from '@ai-sdk/provider';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3Usage,
  SharedV3ProviderMetadata,
} from '@ai-sdk/provider';
import type { ProviderConfig } from './config.js';

/** One provider's model, as the provider packages make it. */
export type ProviderModel = LanguageModelV3;

export interface ToolSpec {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** A message of the conversation in the providers' prompt format; a user message may also be plain text. */
export type ConversationMessage = Exclude<LanguageModelV3Message, { role: 'system' }> | { role: 'user'; content: string };

export interface ModelRequest {
  system: string;
  messages: ConversationMessage[];
  tools: ToolSpec[];
}

export interface ToolCallRequest {
  id: string;
  name: string;
  /** The arguments the model sent, parsed; the raw text when they are not JSON. */
  input: unknown;
}

/** What the model is told a tool returned. */
export type ToolOutput = Extract<LanguageModelV3ToolResultOutput, { type: 'text' | 'error-text' }>;

export interface ModelAnswer {
  text: string;
  toolCalls: ToolCallRequest[];
  inputTokens: number;
  outputTokens: number;
  /** The assistant's messages, to append to the conversation before tool results. */
  messages: ConversationMessage[];
}

/** The SDK's model object for one provider's model; `apiKey` undefined: the provider takes none; `fetch` replaces the HTTP client (the bench's in-process provider). */
export function languageModel(providerName: string, config: ProviderConfig, model: string, apiKey: string | undefined, fetch?: typeof globalThis.fetch): ProviderModel {
  const base = { ...(config.base_url === undefined ? {} : { baseURL: config.base_url }), ...(fetch === undefined ? {} : { fetch }) };
  switch (config.kind) {
    case 'anthropic':
      return createAnthropic({ ...base, apiKey: apiKey ?? '' })(model);
    case 'openai':
      // The chat completions API (tool_calls): what OpenAI-style proxies speak too.
      return createOpenAI({ ...base, apiKey: apiKey ?? '' }).chat(model);
    case 'openai-compatible':
      return createOpenAICompatible({
        ...base,
        name: providerName,
        baseURL: config.base_url ?? 'http://127.0.0.1:11434/v1',
        ...(apiKey === undefined ? {} : { apiKey }),
      }).chatModel(model);
  }
}

/** The conversation's message carrying the results of the tool calls of the model's last turn. */
export function toolResultsMessage(results: ReadonlyArray<{ call: ToolCallRequest; output: ToolOutput }>): ConversationMessage {
  return { role: 'tool', content: results.map(({ call, output }) => ({ type: 'tool-result', toolCallId: call.id, toolName: call.name, output })) };
}

function providerPrompt(request: ModelRequest): LanguageModelV3Prompt {
  const prompt: LanguageModelV3Prompt = [{ role: 'system', content: request.system }];
  for (const message of request.messages) {
    prompt.push(message.role === 'user' && typeof message.content === 'string' ? { role: 'user', content: [{ type: 'text', text: message.content }] } : (message as LanguageModelV3Message));
  }
  return prompt;
}

function functionTool(spec: ToolSpec): LanguageModelV3FunctionTool {
  return { type: 'function', name: spec.name, ...(spec.description === undefined ? {} : { description: spec.description }), inputSchema: spec.inputSchema };
}

/** Tool arguments as the model sent them (JSON text; empty for a tool without parameters). */
function parseInput(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function withMetadata(metadata: SharedV3ProviderMetadata | undefined): { providerOptions?: SharedV3ProviderMetadata } {
  // What a provider attached to a part (e.g. a reasoning signature) goes back with it on the next turn.
  return metadata === undefined ? {} : { providerOptions: metadata };
}

/** The answer of one model turn from the content the provider returned. */
function answerOf(content: readonly LanguageModelV3Content[], usage: LanguageModelV3Usage): ModelAnswer {
  let text = '';
  const toolCalls: ToolCallRequest[] = [];
  const assistant: Extract<LanguageModelV3Message, { role: 'assistant' }>['content'] = [];
  for (const part of content) {
    switch (part.type) {
      case 'text':
        text += part.text;
        if (part.text !== '') assistant.push({ type: 'text', text: part.text, ...withMetadata(part.providerMetadata) });
        break;
      case 'reasoning':
        assistant.push({ type: 'reasoning', text: part.text, ...withMetadata(part.providerMetadata) });
        break;
      case 'tool-call': {
        // Only function tools are offered, so every call is ours to run.
        if (part.providerExecuted === true) break;
        const input = parseInput(part.input);
        toolCalls.push({ id: part.toolCallId, name: part.toolName, input: input.ok ? input.value : part.input });
        // The provider is sent back an object even for arguments it could not read (their tool result says why).
        assistant.push({ type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, input: input.ok ? input.value : {}, ...withMetadata(part.providerMetadata) });
        break;
      }
      default:
        // Sources, files, provider-executed results: nothing to run or send back.
        break;
    }
  }
  return {
    text,
    toolCalls,
    inputTokens: usage.inputTokens.total ?? 0,
    outputTokens: usage.outputTokens.total ?? 0,
    messages: assistant.length === 0 ? [] : [{ role: 'assistant', content: assistant }],
  };
}

/**
 * A stream's parts gathered into the content and usage a non-streamed answer
 * has. It is read to its end (the connection stays reusable); an error part
 * ends it as that error, and so does an end without the finish part.
 */
async function collect(stream: ReadableStream<LanguageModelV3StreamPart>): Promise<{ content: LanguageModelV3Content[]; usage: LanguageModelV3Usage }> {
  const content: LanguageModelV3Content[] = [];
  let usage: LanguageModelV3Usage | undefined;
  // Text and reasoning arrive as deltas of numbered blocks, in the order the blocks started.
  const open = new Map<string, { type: 'text' | 'reasoning'; text: string; providerMetadata?: SharedV3ProviderMetadata }>();
  for await (const part of stream) {
    switch (part.type) {
      case 'text-start':
      case 'reasoning-start': {
        const block = { type: part.type === 'text-start' ? ('text' as const) : ('reasoning' as const), text: '', ...(part.providerMetadata === undefined ? {} : { providerMetadata: part.providerMetadata }) };
        open.set(part.id, block);
        content.push(block);
        break;
      }
      case 'text-delta':
      case 'reasoning-delta':
      case 'text-end':
      case 'reasoning-end': {
        const block = open.get(part.id);
        if (block === undefined) break;
        if ('delta' in part) block.text += part.delta;
        // A block's metadata (e.g. a reasoning signature) may come with any of its parts; the last one stands.
        if (part.providerMetadata !== undefined) block.providerMetadata = part.providerMetadata;
        if (part.type === 'text-end' || part.type === 'reasoning-end') open.delete(part.id);
        break;
      }
      case 'tool-call':
        content.push(part);
        break;
      case 'finish':
        usage = part.usage;
        break;
      case 'error':
        throw part.error;
      default:
        break;
    }
  }
  if (usage === undefined) throw new NoContentGeneratedError({ message: 'the answer stream ended before its finish event' });
  return { content, usage };
}

/** One model turn: no tool is executed here, the caller runs them (through the gateway). */
export async function askModel(model: ProviderModel, request: ModelRequest, config: ProviderConfig, signal: AbortSignal): Promise<ModelAnswer> {
  const options: LanguageModelV3CallOptions = {
    prompt: providerPrompt(request),
    maxOutputTokens: config.max_output_tokens,
    abortSignal: signal,
    ...(request.tools.length === 0 ? {} : { tools: request.tools.map(functionTool), toolChoice: { type: 'auto' } }),
  };
  if (!config.stream) {
    const result = await model.doGenerate(options);
    return answerOf(result.content, result.usage);
  }
  const { stream } = await model.doStream(options);
  const { content, usage } = await collect(stream);
  return answerOf(content, usage);
}
