/** Runs the ordered stage list over one message. Any throw becomes a safe JSON-RPC error. */
import { GatewayError, rpcError } from '../errors.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { MessageContext, Outcome, Stage } from './context.js';

export function errorOutcome(err: unknown, ctx: MessageContext): Outcome {
  if (err instanceof GatewayError) return { kind: 'error', error: err.body };
  // An upstream's own JSON-RPC error passes through as the upstream sent it.
  if (err instanceof McpError) {
    const message = err.message.replace(/^MCP error -?\d+: /, '');
    return { kind: 'error', error: err.data === undefined ? { code: err.code, message } : { code: err.code, message, data: err.data } };
  }
  ctx.services.log('error', 'pipeline stage failed', { method: ctx.message.method, error: err instanceof Error ? err.name : typeof err });
  return { kind: 'error', error: rpcError('internalError') };
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
