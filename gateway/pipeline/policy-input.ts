/** The policy input document for one message and one target server. */
import type { MessageInput, PolicyInput, ToolInput } from '../policy/engine/decision.js';
import type { Params } from '../protocol/jsonrpc.js';
import type { MessageContext } from './context.js';
import { secretKinds } from '../sanitize/json.js';

/** The server named in policy input for messages the aggregated endpoint answers itself. */
export const AGGREGATE_SERVER = '*';

export interface Subject {
  server: string;
  tool?: string;
  prompt?: string;
  uri?: string;
  listing?: boolean;
  toolInput?: ToolInput;
}

export function policyInput(ctx: MessageContext, subject: Subject): PolicyInput {
  const message: MessageInput = {
    direction: ctx.direction,
    kind: ctx.message.kind,
    method: ctx.message.method,
    server: subject.server,
  };
  if (subject.tool !== undefined) message.tool = subject.tool;
  if (subject.prompt !== undefined) message.prompt = subject.prompt;
  if (subject.uri !== undefined) message.uri = subject.uri;
  if (subject.listing) {
    message.listing = true;
  } else if (ctx.message.method === 'tools/call' || ctx.message.method === 'prompts/get') {
    message.arguments = ctx.message.params?.arguments ?? {};
    if (ctx.message.method === 'tools/call' && ctx.direction === 'request') {
      // Cheap for ordinary arguments: the detectors' hints rule out most strings without running a pattern.
      const secrets = secretKinds(message.arguments);
      if (secrets.length > 0) message.secrets = secrets;
    }
  } else if (ctx.direction === 'response' && ctx.message.params !== undefined) {
    message.arguments = ctx.message.params;
  }
  return withContext(ctx, message, subject.toolInput ?? (subject.listing ? undefined : ctx.tool));
}

/** The policy input for the result of this tools/call (direction response, kind result). */
export function toolResultInput(ctx: MessageContext, server: string, tool: string | undefined, result: Params): PolicyInput {
  const message: MessageInput = { direction: 'response', kind: 'result', method: ctx.message.method, server };
  if (tool !== undefined) message.tool = tool;
  message.result = result;
  return withContext(ctx, message, ctx.tool);
}

function withContext(ctx: MessageContext, message: MessageInput, tool: ToolInput | undefined): PolicyInput {
  const input: PolicyInput = {
    agent: ctx.agent,
    message,
    context: { time_ns: Date.now() * 1_000_000 },
  };
  if (ctx.channel.sessionId !== undefined) input.context.session = ctx.channel.sessionId;
  if (tool !== undefined) input.tool = tool;
  return input;
}

/** The subject of a routed message (fan-out targets are decided one by one). */
export function routeSubject(ctx: MessageContext): Subject[] {
  const route = ctx.route;
  const endpoint = ctx.channel.endpoint;
  switch (route?.kind) {
    case 'upstream': {
      const subject: Subject = { server: route.server };
      if (route.tool !== undefined) subject.tool = route.tool;
      if (route.prompt !== undefined) subject.prompt = route.prompt;
      if (route.uri !== undefined) subject.uri = route.uri;
      return [subject];
    }
    case 'fanout':
      return route.servers.map((server) => ({ server }));
    case 'agent':
      return [{ server: route.server }];
    case 'local':
    default:
      return [{ server: endpoint.kind === 'server' ? endpoint.server : AGGREGATE_SERVER }];
  }
}
