/**
 * Pin-tools stage (rug-pull protection). A tools/call only reaches a tool
 * whose current definition is the pinned (reviewed) one, and the policy sees
 * that pinned definition; tools/list answers show only such tools, with
 * invisible characters removed from their texts. A changed tool is
 * quarantined by the pin store until an operator approves it. It runs
 * inside list filtering, so the pin store sees the upstream's full list.
 */
import { GatewayError } from '../errors.js';
import type { Params } from '../protocol/jsonrpc.js';
import { joinName, splitName } from '../protocol/names.js';
import { listAll } from '../upstreams/tool-catalog.js';
import type { ToolStatus } from '../pinning/store.js';
import type { ToolInput } from '../policy/engine/decision.js';
import type { MessageContext, Next, Outcome } from './context.js';
import { evaluatePolicy } from './decide.js';

/** What the policy sees of a pinned tool. */
function pinnedInput(status: Extract<ToolStatus, { state: 'pinned' }>): ToolInput {
  return { definition_hash: status.hash, annotations: status.definition.annotations ?? {}, flags: status.flags };
}

/** The pinned definition, when the catalog's listing (ctx.tool) is the pin. */
function currentPin(ctx: MessageContext, server: string, tool: string): ToolInput | undefined {
  const status = ctx.services.enforcement.pins.status(server, tool);
  return status.state === 'pinned' && ctx.tool?.definition_hash === status.hash ? pinnedInput(status) : undefined;
}

/** When the listing is not the pin, asks the upstream what it serves now (and pins or quarantines it). */
async function relistedPin(ctx: MessageContext, server: string, tool: string): Promise<ToolInput> {
  const { pins } = ctx.services.enforcement;
  pins.observe(server, await listAll(ctx.services.upstreams, server, 'tools/list', 'tools', ctx.signal));
  ctx.services.tools.invalidate(server);
  const status = pins.status(server, tool);
  if (status.state !== 'pinned') {
    // A tool the policy refuses this agent is denied, never reported as quarantined or unlisted.
    // The policy is asked without the unreviewed definition: only a pinned one is ever trusted.
    delete ctx.tool;
    evaluatePolicy(ctx);
    throw new GatewayError(status.state === 'quarantined' ? 'toolQuarantined' : 'toolNotListed', tool);
  }
  return pinnedInput(status);
}

/** The entries of a tools/list answer an agent may see, per upstream. */
function visibleTools(ctx: MessageContext, tools: unknown[]): unknown[] {
  const { pins } = ctx.services.enforcement;
  const endpoint = ctx.channel.endpoint;
  if (endpoint.kind === 'server') return pins.observe(endpoint.server, tools);
  // Aggregated: names are <server>__<tool>; pins are kept under the upstream's own names.
  const byServer = new Map<string, Params[]>();
  for (const entry of tools) {
    const name = (entry as Params | null)?.name;
    const parts = typeof name === 'string' ? splitName(name) : undefined;
    if (parts === undefined) continue;
    const list = byServer.get(parts.server) ?? [];
    list.push({ ...(entry as Params), name: parts.name });
    byServer.set(parts.server, list);
  }
  const visible: unknown[] = [];
  for (const [server, entries] of byServer) {
    for (const entry of pins.observe(server, entries)) {
      visible.push({ ...(entry as Params), name: joinName(server, (entry as { name: string }).name) });
    }
  }
  return visible;
}

export function pinToolsStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const route = ctx.route;
  if (ctx.direction !== 'request') return next();
  if (ctx.message.method === 'tools/list') return listThenHide(ctx, next);
  if (ctx.message.method !== 'tools/call' || route?.kind !== 'upstream' || route.tool === undefined) return next();
  const pinned = currentPin(ctx, route.server, route.tool);
  if (pinned === undefined) return relistThenNext(ctx, route.server, route.tool, next);
  ctx.tool = pinned;
  return next();
}

async function relistThenNext(ctx: MessageContext, server: string, tool: string, next: Next): Promise<Outcome> {
  ctx.tool = await relistedPin(ctx, server, tool);
  return next();
}

async function listThenHide(ctx: MessageContext, next: Next): Promise<Outcome> {
  const outcome = await next();
  if (outcome.kind !== 'result' || !Array.isArray(outcome.result.tools)) return outcome;
  return { kind: 'result', result: { ...outcome.result, tools: visibleTools(ctx, outcome.result.tools) } };
}
