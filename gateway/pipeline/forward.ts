/**
 * Forward stage, the last one: answers local methods, sends the message to
 * its upstream (or every allowed upstream), or delivers a server message to
 * the agent. Upstream failures become errors naming the upstream.
 */
import { GatewayError } from '../errors.js';
import { initializeResult } from './initialize.js';
import type { Params } from '../protocol/jsonrpc.js';
import { joinName } from '../protocol/names.js';
import { listAll } from '../upstreams/tool-catalog.js';
import { laneAgent } from './lane-agent.js';
import type { MessageContext, Outcome } from './context.js';
import { errorOutcome } from './run.js';

const NONE: Outcome = { kind: 'none' };

/** Aggregated lists: which result key, and which field carries the name to prefix. */
const AGGREGATED_LISTS: Record<string, { key: string; prefix: boolean; uriField?: string }> = {
  'tools/list': { key: 'tools', prefix: true },
  'prompts/list': { key: 'prompts', prefix: true },
  'resources/list': { key: 'resources', prefix: true, uriField: 'uri' },
  'resources/templates/list': { key: 'resourceTemplates', prefix: true, uriField: 'uriTemplate' },
};

function local(ctx: MessageContext): Outcome {
  const { method, params } = ctx.message;
  switch (method) {
    case 'initialize':
      return { kind: 'result', result: initializeResult(ctx.channel.endpoint, ctx.services.upstreams, ctx.channel.protocolVersion) };
    case 'ping':
      return { kind: 'result', result: {} };
    case 'notifications/cancelled': {
      const id = params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') ctx.channel.cancel(id);
      return NONE;
    }
    default:
      // notifications/initialized: the upstream connection was initialized by the gateway itself.
      return NONE;
  }
}

async function toUpstream(ctx: MessageContext, server: string, params: Params | undefined): Promise<Outcome> {
  const upstream = ctx.services.upstreams.get(server);
  if (upstream === undefined) throw new GatewayError('unknownServer', server);
  const agent = laneAgent(ctx);
  if (ctx.message.kind === 'notification') {
    await upstream.notify(ctx.message.method, params, agent);
    return NONE;
  }
  const progressToken = ctx.progressToken;
  // Progress goes through the pipeline one notification after the other, and all of it before the answer.
  let relayed: Promise<unknown> | undefined;
  const onprogress =
    progressToken === undefined
      ? undefined
      : (value: Params): void => {
          const message = { kind: 'notification' as const, method: 'notifications/progress', params: { ...value, progressToken } };
          const relay = (): Promise<Outcome> => ctx.services.relay(ctx.channel, ctx.agent, server, message, ctx.message.id, ctx.signal);
          relayed = relayed === undefined ? relay() : relayed.then(relay);
        };
  const started = performance.now();
  let result: Params;
  try {
    const onstream = (): void => {
      ctx.answerAsStream = true;
    };
    result = await upstream.request(ctx.message.method, params, { signal: ctx.signal, onprogress, onstream, agent });
  } finally {
    ctx.upstreamSeconds = (performance.now() - started) / 1000;
  }
  if (relayed !== undefined) await relayed;
  const uri = params?.uri;
  if (typeof uri === 'string' && (ctx.message.method === 'resources/subscribe' || ctx.message.method === 'resources/unsubscribe')) {
    ctx.channel.subscribed(uri, ctx.message.method === 'resources/subscribe');
  }
  return { kind: 'result', result };
}

async function fanOut(ctx: MessageContext, servers: string[]): Promise<Outcome> {
  const list = AGGREGATED_LISTS[ctx.message.method];
  if (list === undefined) {
    await Promise.allSettled(servers.map((server) => toUpstream(ctx, server, ctx.message.params)));
    return ctx.message.kind === 'notification' ? NONE : { kind: 'result', result: {} };
  }
  const perServer = await Promise.all(
    servers.map(async (server) => {
      const capability = ctx.message.method.split('/')[0] ?? '';
      const offered: Params = ctx.services.upstreams.get(server)?.capabilities ?? {};
      if (offered[capability] === undefined) return [];
      try {
        const entries = await listAll(ctx.services.upstreams, server, ctx.message.method, list.key, ctx.signal, laneAgent(ctx));
        return entries.map((entry) => {
          const item = { ...(entry as Params) };
          if (list.uriField !== undefined && typeof item[list.uriField] === 'string') {
            ctx.channel.rememberResources(server, [item[list.uriField] as string]);
          }
          if (typeof item.name === 'string') item.name = joinName(server, item.name);
          return item;
        });
      } catch (err) {
        // One upstream down must not hide every other upstream's entries.
        ctx.services.log('warn', 'aggregated list skipped an upstream', { server, method: ctx.message.method, error: err instanceof Error ? err.message : 'error' });
        return [];
      }
    }),
  );
  return { kind: 'result', result: { [list.key]: perServer.flat() } };
}

async function toAgent(ctx: MessageContext): Promise<Outcome> {
  const { method, params, kind } = ctx.message;
  if (kind === 'notification') {
    ctx.channel.notify(method, params, ctx.relatedRequestId);
    return NONE;
  }
  return { kind: 'result', result: await ctx.channel.request(method, params, ctx.relatedRequestId, ctx.signal) };
}

export async function forwardStage(ctx: MessageContext): Promise<Outcome> {
  try {
    const route = ctx.route;
    switch (route?.kind) {
      case 'local':
        return local(ctx);
      case 'upstream':
        return await toUpstream(ctx, route.server, route.params);
      case 'fanout':
        return await fanOut(ctx, route.servers);
      case 'agent':
        return await toAgent(ctx);
      default:
        throw new GatewayError('internalError', 'message was not routed');
    }
  } catch (err) {
    return errorOutcome(err, ctx);
  }
}
