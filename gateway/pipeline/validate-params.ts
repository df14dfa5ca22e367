/**
 * Validate-params stage: an agent's request must carry the params the MCP
 * schema gives its method (the SDK's own request schemas) before anything
 * reads them, so a uri, name or progress token of the wrong type never
 * reaches routing, the policy or an upstream. Methods without a schema here
 * are checked for the fields every request shares (`_meta`, its progress
 * token) and left to routing. Invalid requests get -32602 naming the field,
 * never its value.
 */
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { GatewayError } from '../errors.js';
import type { MessageContext, Next, Outcome } from './context.js';

/** What the stage needs of a schema's verdict: where the first problem is. */
interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly expected?: string;
}

interface RequestShape {
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: readonly Issue[] } };
}

/** The requests an agent sends to an upstream, by method. */
const SHAPES = new Map<string, RequestShape>([
  ['tools/list', ListToolsRequestSchema],
  ['tools/call', CallToolRequestSchema],
  ['resources/list', ListResourcesRequestSchema],
  ['resources/templates/list', ListResourceTemplatesRequestSchema],
  ['resources/read', ReadResourceRequestSchema],
  ['resources/subscribe', SubscribeRequestSchema],
  ['resources/unsubscribe', UnsubscribeRequestSchema],
  ['prompts/list', ListPromptsRequestSchema],
  ['prompts/get', GetPromptRequestSchema],
  ['completion/complete', CompleteRequestSchema],
  ['logging/setLevel', SetLevelRequestSchema],
]);

/**
 * `params.uri`, `params._meta.progressToken`: the schema's own names. What
 * follows `arguments` is an argument's name, chosen by the agent, and is
 * left out ("params.arguments (an entry)").
 */
function fieldOf(path: readonly PropertyKey[]): string {
  const names: string[] = [];
  for (const key of path) {
    if (typeof key !== 'string') break;
    names.push(key);
    if (key === 'arguments') break;
  }
  const field = names.join('.');
  return names.length < path.length ? `${field} (an entry)` : field;
}

function problem(issue: Issue | undefined): string {
  if (issue === undefined) return 'params';
  const field = fieldOf(issue.path);
  return issue.code === 'invalid_type' && issue.expected !== undefined ? `${field}: expected ${issue.expected}` : `${field}: not a valid value`;
}

/**
 * Agent-to-upstream requests only: server requests going to the agent are
 * the agent's to validate (no policy rule reads their params), and
 * notifications get no answer to carry a refusal.
 */
export function validateParamsStage(ctx: MessageContext, next: Next): Promise<Outcome> {
  const { kind, method, params } = ctx.message;
  if (ctx.direction === 'request' && kind === 'request') {
    const shape = SHAPES.get(method) ?? RequestSchema;
    const verdict = shape.safeParse(params === undefined ? { method } : { method, params });
    if (!verdict.success) throw new GatewayError('invalidParams', problem(verdict.error.issues[0]));
  }
  return next();
}
