/**
 * Route stage: decides where a message goes. On the aggregated endpoint it
 * also strips the `<server>__` prefix so the upstream sees its own names.
 */
import { GatewayError } from '../errors.js';
import { splitName } from '../protocol/names.js';
import type { Params } from '../protocol/jsonrpc.js';
import type { MessageContext, Outcome, Next, Route } from './context.js';

/** Answered by the gateway for every endpoint. */
const LOCAL = new Set(['initialize', 'ping', 'notifications/initialized', 'notifications/cancelled']);

/** Lists merged across upstreams on the aggregated endpoint. */
export const LIST_METHODS = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']);

/** Sent to every upstream on the aggregated endpoint. */
const BROADCAST = new Set(['logging/setLevel', 'notifications/roots/list_changed']);

function nameParam(params: Params | undefined, key: string): string | undefined {
  const value = params?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** The upstream and upstream-side params for a `<server>__<name>` reference. */
function byQualifiedName(ctx: MessageContext, qualified: string | undefined, key: 'name'): { server: string; params: Params; name: string } {
  const parts = qualified === undefined ? undefined : splitName(qualified);
  if (parts === undefined || ctx.services.upstreams.get(parts.server) === undefined) {
    throw new GatewayError('unknownName', qualified ?? '(missing name)');
  }
  return { server: parts.server, name: parts.name, params: { ...ctx.message.params, [key]: parts.name } };
}

function upstreamRoute(server: string, params: Params | undefined, method: string): Route {
  const route: Route = { kind: 'upstream', server, params };
  if (method === 'tools/call') route.tool = nameParam(params, 'name');
  if (method === 'prompts/get') route.prompt = nameParam(params, 'name');
  const uri = nameParam(params, 'uri');
  if (uri !== undefined) route.uri = uri;
  return route;
}

function aggregateRoute(ctx: MessageContext): Route {
  const { method, params } = ctx.message;
  const all = ctx.services.upstreams.names();
  if (LIST_METHODS.has(method) || BROADCAST.has(method)) return { kind: 'fanout', servers: all };
  if (method === 'tools/call' || method === 'prompts/get') {
    const target = byQualifiedName(ctx, nameParam(params, 'name'), 'name');
    return upstreamRoute(target.server, target.params, method);
  }
  if (method === 'completion/complete') {
    const ref = params?.ref as Params | undefined;
    if (ref?.type === 'ref/prompt') {
      const target = byQualifiedName(ctx, nameParam(ref, 'name'), 'name');
      return upstreamRoute(target.server, { ...params, ref: { ...ref, name: target.name } }, method);
    }
    const uri = nameParam(ref, 'uri');
    const owner = uri === undefined ? undefined : ctx.channel.resourceOwner(uri);
    if (owner === undefined) throw new GatewayError('unknownName', uri ?? '(missing ref)');
    return upstreamRoute(owner, params, method);
  }
  const uri = nameParam(params, 'uri');
  if (uri !== undefined && method.startsWith('resources/')) {
    const owner = ctx.channel.resourceOwner(uri);
    if (owner === undefined) throw new GatewayError('unknownName', uri);
    return upstreamRoute(owner, params, method);
  }
  if (ctx.message.kind === 'notification') return { kind: 'fanout', servers: all };
  throw new GatewayError('methodNotFound', method);
}

export function routeStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const { method, params } = ctx.message;
  const endpoint = ctx.channel.endpoint;
  if (ctx.direction === 'response') {
    // Server-initiated messages are routed by whoever created the context.
    if (ctx.route?.kind !== 'agent') throw new GatewayError('internalError', 'server message without origin');
  } else if (LOCAL.has(method)) {
    ctx.route = { kind: 'local' };
  } else if (endpoint.kind === 'server') {
    ctx.route = upstreamRoute(endpoint.server, params, method);
  } else {
    ctx.route = aggregateRoute(ctx);
  }
  return next();
}
