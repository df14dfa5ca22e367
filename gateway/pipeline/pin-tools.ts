/**
 * Pin-tools stage (rug-pull protection). A tools/call only goes to a
 * connection that lists the pinned (reviewed) definition of the tool, and
 * the policy sees that pinned definition; tools/list answers show only such
 * tools, with invisible characters removed from their texts. A changed tool
 * is quarantined by the pin store until an operator approves it. Every
 * connection to an upstream (the gateway's own, each agent's own under
 * `isolation: per_agent`) is listed and checked on its own, and listed again
 * when it says its tools changed; a call is never a reason to list again. It
 * runs inside list filtering, so the pin store sees the upstream's full list.
 */
import { GatewayError } from '../errors.js';
import type { Params } from '../protocol/jsonrpc.js';
import { joinName, splitName } from '../protocol/names.js';
import type { PinnedTool } from '../pinning/store.js';
import type { ToolInput } from '../policy/engine/decision.js';
import type { LaneAgent } from '../upstreams/agent-lanes.js';
import type { MessageContext, Next, Outcome } from './context.js';
import { evaluatePolicy } from './decide.js';
import { laneAgent } from './lane-agent.js';

/** What the policy sees of a pinned tool. */
function pinnedInput(pinned: PinnedTool): ToolInput {
  return { definition_hash: pinned.hash, annotations: pinned.definition.annotations ?? {}, flags: pinned.flags };
}

/**
 * The connection lists another definition than the pinned one, or none: the
 * call is refused (a denial by the policy first; it is asked without the
 * unreviewed definition, only a pinned one is ever trusted). A definition
 * the pins do not hold for review yet (another one was approved since that
 * connection listed) is shown to them again, from the listing already kept.
 */
function refuse(ctx: MessageContext, server: string, tool: string, agent: LaneAgent): never {
  const listed = ctx.tool !== undefined;
  if (listed && ctx.services.enforcement.pins.status(server, tool).state !== 'quarantined') ctx.services.tools.recheck(server, agent);
  delete ctx.tool;
  evaluatePolicy(ctx);
  throw new GatewayError(listed ? 'toolQuarantined' : 'toolNotListed', tool);
}

/** The entries of a tools/list answer an agent may see, per upstream. */
function visibleTools(ctx: MessageContext, tools: unknown[]): unknown[] {
  const { pins } = ctx.services.enforcement;
  const agent = laneAgent(ctx);
  const endpoint = ctx.channel.endpoint;
  if (endpoint.kind === 'server') return pins.observe(endpoint.server, tools, ctx.services.tools.laneOf(endpoint.server, agent));
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
    for (const entry of pins.observe(server, entries, ctx.services.tools.laneOf(server, agent))) {
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
  const agent = laneAgent(ctx);
  // The describe stage went on without a listing (the upstream did not answer): ask once more, so its failure is what the agent hears.
  if (ctx.tool === undefined && ctx.services.tools.listed(route.server, agent) === undefined) return describeThenCheck(ctx, route.server, route.tool, agent, next);
  return check(ctx, route.server, route.tool, agent, next);
}

function check(ctx: MessageContext, server: string, tool: string, agent: LaneAgent, next: Next): Promise<Outcome> {
  const lane = ctx.services.tools.laneOf(server, agent);
  const pinned = ctx.services.enforcement.pins.callable(server, tool, ctx.tool?.definition_hash, lane);
  if (pinned === undefined) refuse(ctx, server, tool, agent);
  ctx.tool = pinnedInput(pinned);
  return next();
}

/**
 * The pin check once more, for a call that waited for a person: the upstream
 * may have changed the tool meanwhile (a rug pull during the hold). The
 * connection's listing (listed again if it announced a change) must still
 * show the definition the call was decided on, and that definition must
 * still be callable there; else the call is refused as quarantined (or not
 * listed) and nothing goes out. The decision on record stands: the policy is
 * not asked again.
 */
export async function confirmPinned(ctx: MessageContext): Promise<void> {
  const route = ctx.route;
  if (ctx.message.method !== 'tools/call' || route?.kind !== 'upstream' || route.tool === undefined) return;
  const agent = laneAgent(ctx);
  const decidedOn = ctx.tool?.definition_hash;
  const listed = await ctx.services.tools.describe(route.server, route.tool, agent);
  const lane = ctx.services.tools.laneOf(route.server, agent);
  if (listed?.definition_hash === decidedOn && ctx.services.enforcement.pins.callable(route.server, route.tool, decidedOn, lane) !== undefined) return;
  throw new GatewayError(listed === undefined ? 'toolNotListed' : 'toolQuarantined', route.tool);
}

async function describeThenCheck(ctx: MessageContext, server: string, tool: string, agent: LaneAgent, next: Next): Promise<Outcome> {
  const listed = await ctx.services.tools.describe(server, tool, agent);
  if (listed !== undefined) ctx.tool = listed;
  return check(ctx, server, tool, agent, next);
}

async function listThenHide(ctx: MessageContext, next: Next): Promise<Outcome> {
  const outcome = await next();
  if (outcome.kind !== 'result' || !Array.isArray(outcome.result.tools)) return outcome;
  return { kind: 'result', result: { ...outcome.result, tools: visibleTools(ctx, outcome.result.tools) } };
}
