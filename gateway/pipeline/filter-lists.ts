/**
 * Filter-lists stage: a tools/prompts/resources list answer keeps only the
 * entries the policy lets this agent use (asked per entry with listing=true).
 */
import type { Params } from '../protocol/jsonrpc.js';
import { splitName } from '../protocol/names.js';
import { toolInputOf } from '../upstreams/lane-tools.js';
import type { MessageContext, Next, Outcome } from './context.js';
import { policyInput } from './policy-input.js';
import type { Subject } from './policy-input.js';

interface ListKind {
  key: string;
  subject: (entry: Params, server: string, name: string) => Subject;
}

const LISTS = new Map<string, ListKind>([
  [
    'tools/list',
    {
      key: 'tools',
      subject: (entry, server, name) => {
        const subject: Subject = { server, tool: name, listing: true };
        const toolInput = toolInputOf({ ...entry, name });
        if (toolInput !== undefined) subject.toolInput = toolInput;
        return subject;
      },
    },
  ],
  ['prompts/list', { key: 'prompts', subject: (_entry, server, name) => ({ server, prompt: name, listing: true }) }],
  ['resources/list', { key: 'resources', subject: (entry, server) => ({ server, uri: String(entry.uri), listing: true }) }],
  ['resources/templates/list', { key: 'resourceTemplates', subject: (entry, server) => ({ server, uri: String(entry.uriTemplate), listing: true }) }],
]);

/** The upstream and its own name for one entry of a (possibly aggregated) list. */
function origin(ctx: MessageContext, entry: Params, key: string): { server: string; name: string } | undefined {
  const endpoint = ctx.channel.endpoint;
  const name = typeof entry.name === 'string' ? entry.name : '';
  if (endpoint.kind === 'server') return { server: endpoint.server, name };
  if (key === 'tools' || key === 'prompts') return splitName(name);
  const uri = typeof entry.uri === 'string' ? entry.uri : typeof entry.uriTemplate === 'string' ? entry.uriTemplate : '';
  const server = ctx.channel.resourceOwner(uri);
  return server === undefined ? undefined : { server, name };
}

export function filterListsStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const list = LISTS.get(ctx.message.method);
  return list === undefined || ctx.direction !== 'request' ? next() : filterList(ctx, next, list);
}

async function filterList(ctx: MessageContext, next: Next, list: ListKind): Promise<Outcome> {
  const outcome = await next();
  if (outcome.kind !== 'result') return outcome;
  const entries = outcome.result[list.key];
  if (!Array.isArray(entries)) return outcome;
  const kept = entries.filter((entry: unknown) => {
    if (entry === null || typeof entry !== 'object') return false;
    const from = origin(ctx, entry as Params, list.key);
    if (from === undefined) return false;
    return ctx.services.decider.decide(policyInput(ctx, list.subject(entry as Params, from.server, from.name))).allow === true;
  });
  return { kind: 'result', result: { ...outcome.result, [list.key]: kept } };
}
