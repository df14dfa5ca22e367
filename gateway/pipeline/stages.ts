/**
 * The pipeline's stage contract, as data. Every message passes the stages in
 * this order. A stage is middleware (context.ts): it answers itself (throws a
 * GatewayError) or calls next() once; a stage that `wraps` next() looks at,
 * or changes, the outcome on the way back. `reads` are the context fields it
 * needs on the way in, `readsBack` those it reads once next() has answered,
 * `writes` those it sets (for a later stage, one on the way back, or the
 * transport); every stage may use `services`. A stage passes traffic outside
 * `acts` straight on. test/pipeline-contract.test.ts checks the table against
 * itself and against each stage's source: add a stage by writing one file
 * (named after it) and one row here.
 */
import type { MessageContext, Stage } from './context.js';
import { validateParamsStage } from './validate-params.js';
import { routeStage } from './route.js';
import { describeToolStage } from './describe-tool.js';
import { auditStage } from './audit.js';
import { filterListsStage } from './filter-lists.js';
import { pinToolsStage } from './pin-tools.js';
import { validateArgumentsStage } from './validate-arguments.js';
import { decideStage } from './decide.js';
import { rateLimitStage } from './rate-limit.js';
import { holdStage } from './hold.js';
import { inspectResponseStage } from './inspect-response.js';
import { forwardStage } from './forward.js';

/** A context field a stage reads or writes (`services` is every stage's). */
export type ContextField = Exclude<keyof MessageContext, 'services'>;

/** An agent's message to an upstream (direction request) or an upstream's to the agent (direction response). */
export type Traffic = 'agent request' | 'agent notification' | 'server request' | 'server notification';

const ALL_TRAFFIC: readonly Traffic[] = ['agent request', 'agent notification', 'server request', 'server notification'];

export interface StageContract {
  /** The stage's file in gateway/pipeline, without `.ts`. */
  readonly name: string;
  readonly stage: Stage;
  readonly does: string;
  readonly acts: readonly Traffic[];
  readonly reads: readonly ContextField[];
  readonly writes: readonly ContextField[];
  readonly wraps: boolean;
  readonly readsBack: readonly ContextField[];
}

/**
 * Set by the transport before the first stage: the endpoint for agent
 * messages (`progressToken` when asked for), the relay for server messages
 * (`route` to the agent, `relatedRequestId`).
 */
export const FROM_TRANSPORT: readonly ContextField[] = ['direction', 'message', 'agent', 'channel', 'signal', 'receivedAt', 'progressToken', 'relatedRequestId', 'route'];

/** Read by the endpoint once the pipeline has answered (how to frame the answer). */
export const TO_TRANSPORT: readonly ContextField[] = ['answerAsStream'];

export const CONTRACT: readonly StageContract[] = [
  {
    name: 'validate-params',
    stage: validateParamsStage,
    does: "an agent's request has its method's MCP params shape before anything reads them (-32602 naming the field)",
    acts: ['agent request'],
    reads: ['direction', 'message'],
    writes: [],
    wraps: false,
    readsBack: [],
  },
  {
    name: 'route',
    stage: routeStage,
    does: 'where an agent message goes (local, one upstream, fan-out), upstream-side names on the aggregated endpoint',
    acts: ALL_TRAFFIC,
    reads: ['direction', 'message', 'channel', 'route'],
    writes: ['route'],
    wraps: false,
    readsBack: [],
  },
  {
    name: 'describe-tool',
    stage: describeToolStage,
    does: 'which tool definition a tools/call names, as the connection that will serve it lists it',
    acts: ['agent request'],
    reads: ['message', 'route', 'agent', 'channel'],
    writes: ['tool'],
    wraps: false,
    readsBack: [],
  },
  {
    name: 'audit',
    stage: auditStage,
    does: 'refuses when the trail cannot record; decision on record before anything goes on, denials and outcomes after; request metrics',
    acts: ['agent request', 'agent notification', 'server request'],
    reads: ['direction', 'message', 'route'],
    writes: ['callId', 'recordDecision'],
    wraps: true,
    readsBack: ['verdict', 'route', 'message', 'agent', 'channel', 'tool', 'callId', 'holdId', 'upstreamSeconds', 'receivedAt'],
  },
  {
    name: 'filter-lists',
    stage: filterListsStage,
    does: '← list answers keep only the entries the policy allows (after pinning saw the full list)',
    acts: ['agent request'],
    reads: ['direction', 'message'],
    writes: [],
    wraps: true,
    readsBack: ['direction', 'message', 'agent', 'channel'],
  },
  {
    name: 'pin-tools',
    stage: pinToolsStage,
    does: 'only pinned (reviewed) tool definitions are callable, else denied or refused as quarantined; ← tool lists hide quarantined tools',
    acts: ['agent request'],
    reads: ['direction', 'message', 'route', 'tool', 'agent', 'channel', 'signal'],
    writes: ['tool', 'verdict'],
    wraps: true,
    readsBack: ['channel'],
  },
  {
    name: 'validate-arguments',
    stage: validateArgumentsStage,
    does: 'tools/call arguments must match the pinned input schema (-32602)',
    acts: ['agent request'],
    reads: ['direction', 'message', 'route'],
    writes: [],
    wraps: false,
    readsBack: [],
  },
  {
    name: 'decide',
    stage: decideStage,
    does: 'policy decision: a deny answers here; a fan-out narrows to the allowed servers; waits for the decision record',
    acts: ALL_TRAFFIC,
    reads: ['direction', 'message', 'route', 'tool', 'agent', 'channel', 'recordDecision', 'callId'],
    writes: ['verdict', 'decisions', 'route'],
    wraps: false,
    readsBack: [],
  },
  {
    name: 'rate-limit',
    stage: rateLimitStage,
    does: "token buckets per agent, per agent+tool (the decision's rate class), per server",
    acts: ['agent request'],
    reads: ['direction', 'message', 'route', 'decisions', 'agent'],
    writes: [],
    wraps: false,
    readsBack: [],
  },
  {
    name: 'hold',
    stage: holdStage,
    does: "decisions asking for a hold wait for a person's approval (only an agent request can wait; anything else is refused); an approved tool call meets the pins again",
    acts: ALL_TRAFFIC,
    reads: ['direction', 'message', 'route', 'decisions', 'agent', 'channel', 'signal', 'progressToken', 'tool'],
    writes: ['holdId'],
    wraps: true,
    readsBack: [],
  },
  {
    name: 'inspect-response',
    stage: inspectResponseStage,
    does: '← tool results asked of the policy (direction response): withheld or masked; server messages masked per their decision',
    acts: ['agent request', 'server request', 'server notification'],
    reads: ['direction', 'message', 'route', 'decisions'],
    writes: ['message'],
    wraps: true,
    readsBack: ['message', 'route', 'tool', 'agent', 'channel'],
  },
  {
    name: 'forward',
    stage: forwardStage,
    does: 'answers local methods, sends to the upstream(s), or delivers a server message to the agent',
    acts: ALL_TRAFFIC,
    reads: ['message', 'route', 'agent', 'channel', 'signal', 'progressToken', 'relatedRequestId'],
    writes: ['upstreamSeconds', 'answerAsStream'],
    wraps: false,
    readsBack: [],
  },
];

/** What the runner walks: a plain array of functions, the contract's order. */
export const STAGES: readonly Stage[] = CONTRACT.map((row) => row.stage);
