/** Server messages (from an upstream, to an agent) take the same pipeline as agent messages. */
import type { AgentIdentity } from '../identity/agent.js';
import type { AgentChannel, Outcome, PipelineMessage, Services, Stage } from '../pipeline/context.js';
import type { CancelSignal } from '../protocol/cancellation.js';
import { runPipeline } from '../pipeline/run.js';
import type { RpcId } from '../protocol/jsonrpc.js';

export function relayer(stages: readonly Stage[], services: () => Services): Services['relay'] {
  return (channel: AgentChannel, agent: AgentIdentity, server: string, message: PipelineMessage, relatedRequestId: RpcId | undefined, signal: CancelSignal): Promise<Outcome> =>
    runPipeline(stages, {
      direction: 'response',
      message,
      agent,
      channel,
      services: services(),
      signal,
      route: { kind: 'agent', server },
      ...(relatedRequestId === undefined ? {} : { relatedRequestId }),
      receivedAt: performance.now(),
    });
}
