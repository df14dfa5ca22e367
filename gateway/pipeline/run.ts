/** Runs the ordered stage list over one message. Any throw becomes a safe JSON-RPC error. */
import { GatewayError, rpcError } from '../errors.js';
import type { JsonRpcErrorBody } from '../errors.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { MessageContext, Outcome, Stage } from './context.js';
import { redactJson, redactSecrets } from '../sanitize/index.js';
import type { Findings } from '../sanitize/index.js';

export function errorOutcome(err: unknown, ctx: MessageContext): Outcome {
  if (err instanceof GatewayError) return { kind: 'error', error: err.body };
  if (err instanceof McpError) return { kind: 'error', error: upstreamError(err, ctx) };
  ctx.services.log('error', 'pipeline stage failed', { method: ctx.message.method, error: err instanceof Error ? err.name : typeof err });
  return { kind: 'error', error: rpcError('internalError') };
}

/**
 * An upstream's own JSON-RPC error passes through as the upstream sent it,
 * except for secrets: an error is a diagnostic, and no tool result goes
 * uninspected because it came back as an error instead.
 */
function upstreamError(err: McpError, ctx: MessageContext): JsonRpcErrorBody {
  const found: Findings = {};
  const message = redactSecrets(err.message.replace(/^MCP error -?\d+: /, ''), found);
  let data: unknown = err.data;
  if (data !== undefined) {
    const redacted = redactJson(data);
    data = redacted.value;
    for (const [kind, n] of Object.entries(redacted.found)) found[kind] = (found[kind] ?? 0) + n;
  }
  const route = ctx.route;
  if (Object.keys(found).length > 0 && route?.kind === 'upstream') {
    ctx.services.enforcement.redacted({ server: route.server, ...(route.tool ? { tool: route.tool } : {}), found });
  }
  return data === undefined ? { code: err.code, message } : { code: err.code, message, data };
}

/**
 * Stages that only look at a message on its way in may be plain functions
 * (no async frame per message); a synchronous throw becomes a rejection here,
 * so every stage sees the next one as a promise either way.
 */
export async function runPipeline(stages: readonly Stage[], ctx: MessageContext): Promise<Outcome> {
  const step = (index: number): Promise<Outcome> => {
    const stage = stages[index];
    if (stage === undefined) return Promise.reject(new GatewayError('internalError', 'pipeline ended without forwarding'));
    let called = false;
    const next = (): Promise<Outcome> => {
      if (called) return Promise.reject(new GatewayError('internalError', 'stage called next twice'));
      called = true;
      return step(index + 1);
    };
    try {
      return stage(ctx, next);
    } catch (err) {
      return Promise.reject(err);
    }
  };
  try {
    return await step(0);
  } catch (err) {
    return errorOutcome(err, ctx);
  }
}
