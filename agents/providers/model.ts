/**
 * The thin adapter over the AI SDK: one provider-neutral request (system
 * prompt, messages, tools as JSON Schemas) to one model of one provider, and
 * its answer (text, tool calls, token counts). The SDK speaks each provider's
 * wire format (Anthropic Messages, OpenAI chat completions, OpenAI-compatible
 * servers), JSON or SSE. Its own retries are off: failover.ts decides.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import type { LanguageModel, ModelMessage, ToolSet } from 'ai';
import type { ProviderConfig } from './config.js';

export interface ToolSpec {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

export interface ModelRequest {
  system: string;
  messages: ModelMessage[];
  tools: ToolSpec[];
}

export interface ToolCallRequest {
  id: string;
  name: string;
  input: unknown;
}

export interface ModelAnswer {
  text: string;
  toolCalls: ToolCallRequest[];
  inputTokens: number;
  outputTokens: number;
  /** The assistant's messages, to append to the conversation before tool results. */
  messages: ModelMessage[];
}

/** The SDK's model object for one provider's model; `apiKey` undefined: the provider takes none. */
export function languageModel(providerName: string, config: ProviderConfig, model: string, apiKey: string | undefined): LanguageModel {
  const base = config.base_url === undefined ? {} : { baseURL: config.base_url };
  switch (config.kind) {
    case 'anthropic':
      return createAnthropic({ ...base, apiKey: apiKey ?? '' })(model);
    case 'openai':
      // The chat completions API (tool_calls): what OpenAI-style proxies speak too.
      return createOpenAI({ ...base, apiKey: apiKey ?? '' }).chat(model);
    case 'openai-compatible':
      return createOpenAICompatible({
        name: providerName,
        baseURL: config.base_url ?? 'http://127.0.0.1:11434/v1',
        ...(apiKey === undefined ? {} : { apiKey }),
      }).chatModel(model);
  }
}

function toolSet(tools: ToolSpec[]): ToolSet {
  return Object.fromEntries(
    tools.map((spec) => [spec.name, tool({ ...(spec.description === undefined ? {} : { description: spec.description }), inputSchema: jsonSchema(spec.inputSchema) })]),
  );
}

/** One model turn: no tool is executed here, the caller runs them (through the gateway). */
export async function askModel(model: LanguageModel, request: ModelRequest, config: ProviderConfig, signal: AbortSignal): Promise<ModelAnswer> {
  const tools = toolSet(request.tools);
  const settings = { model, system: request.system, messages: request.messages, tools, maxRetries: 0, maxOutputTokens: config.max_output_tokens, abortSignal: signal };
  const stream = config.stream;
  if (!stream) {
    const result = await generateText(settings);
    return {
      text: result.text,
      toolCalls: result.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input })),
      inputTokens: result.usage.inputTokens ?? 0,
      outputTokens: result.usage.outputTokens ?? 0,
      messages: result.response.messages,
    };
  }
  // A stream reports its failure through onError; its promises then only say "no output".
  let failure: unknown;
  const result = streamText({ ...settings, onError: ({ error }) => void (failure ??= error) });
  try {
    const [text, toolCalls, usage, response] = await Promise.all([result.text, result.toolCalls, result.usage, result.response]);
    if (failure !== undefined) throw failure;
    return {
      text,
      toolCalls: toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input })),
      inputTokens: usage.inputTokens ?? 0,
      outputTokens: usage.outputTokens ?? 0,
      messages: response.messages,
    };
  } catch (err) {
    throw failure ?? err;
  }
}
