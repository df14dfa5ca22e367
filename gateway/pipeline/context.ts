/**
 * What every pipeline stage sees: one message, who sent it, where it goes,
 * and what earlier stages decided. A stage is middleware: it may answer
 * itself, or call next() and look at (or change) the outcome on the way back.
 */
import type { JsonRpcErrorBody } from '../errors.js';
import type { AgentIdentity } from '../identity/agent.js';
import type { PolicyDecider, PolicyInput, RevisedDecision, ToolInput } from '../policy/engine/decision.js';
import type { Params, RpcId } from '../protocol/jsonrpc.js';
import type { ToolCatalog } from '../upstreams/tool-catalog.js';
import type { Enforcement } from './enforcement.js';
import type { UpstreamRegistry } from '../upstreams/registry.js';
import type { PortcullisConfig } from '../config/sections.js';
import type { AuditLog, RefusalRecorder } from '../audit/index.js';
import type { GatewayMetrics } from '../metrics/index.js';
import type { CancelSignal } from '../protocol/cancellation.js';
import type { LogSink } from '../util/log.js';
import type { ShadowPolicy } from './shadow.js';

/** The message being decided: a request or notification, in either direction. */
export interface PipelineMessage {
  kind: 'request' | 'notification';
  id?: RpcId;
  method: string;
  params?: Params;
}

/** Where the message goes once allowed. */
export type Route =
  /** Answered by the gateway itself (initialize, ping, cancellation...). */
  | { kind: 'local' }
  /** One upstream; `params` already carry the upstream's own names. */
  | { kind: 'upstream'; server: string; params?: Params; tool?: string; prompt?: string; uri?: string }
  /** Every upstream (aggregated lists, broadcast notifications); `servers` narrows to the allowed ones. */
  | { kind: 'fanout'; servers: string[] }
  /** A server-to-client request or notification from upstream `server`, going to the agent. */
  | { kind: 'agent'; server: string };

/** The endpoint an agent session is bound to. */
export type Endpoint = { kind: 'server'; server: string } | { kind: 'aggregate' };

/** The agent-facing side of a session, as stages need it. */
export interface AgentChannel {
  readonly sessionId: string | undefined;
  readonly endpoint: Endpoint;
  readonly protocolVersion: string;
  readonly clientCapabilities: Params;
  /** Sends a notification to the agent, on the stream of `relatedRequestId` when given. */
  notify(method: string, params: Params | undefined, relatedRequestId?: RpcId): void;
  /** Sends a request to the agent and waits for its answer. */
  request(method: string, params: Params | undefined, relatedRequestId: RpcId | undefined, signal: CancelSignal): Promise<Params>;
  /** Aborts the agent's in-flight request with that id (notifications/cancelled). */
  cancel(requestId: RpcId): void;
  /** Which upstream listed a resource URI (aggregated endpoint routing). */
  resourceOwner(uri: string): string | undefined;
  rememberResources(server: string, uris: string[]): void;
  /** Records a resources/subscribe (true) or unsubscribe (false) that the upstream accepted. */
  subscribed(uri: string, on: boolean): void;
}

/** What the pipeline and the endpoint ask of the audit trail: the AuditLog, or an in-memory fake in unit tests. */
export type AuditTrail = Pick<AuditLog, 'check' | 'record'>;

export interface Services {
  config: PortcullisConfig;
  decider: PolicyDecider;
  upstreams: UpstreamRegistry;
  tools: ToolCatalog;
  /** Rate limits, holds, tool pins and argument validation (see enforcement.ts). */
  enforcement: Enforcement;
  /** The audit trail; absent only when the configuration has no `audit` section. */
  audit?: AuditTrail;
  /** Counts, and audits within bounds, every attempt refused before the policy was asked. */
  refusals: RefusalRecorder;
  metrics: GatewayMetrics;
  log: LogSink;
  /** The candidate of `policy.shadow`, asked beside the decider and only compared. */
  shadow?: ShadowPolicy;
  /** Runs a server message from upstream `server` through the pipeline to the agent. */
  relay(channel: AgentChannel, agent: AgentIdentity, server: string, message: PipelineMessage, relatedRequestId: RpcId | undefined, signal: CancelSignal): Promise<Outcome>;
}

export interface Verdict {
  decision: 'allow' | 'deny' | 'hold';
  reasons: readonly string[];
  revision: string;
  /** Time spent evaluating the policy. */
  seconds: number;
  redact?: readonly string[];
  classification?: readonly string[];
  /** Set once the decision is in the audit trail. */
  recorded?: boolean;
  /** The input the deciding decision was made on (recorded for replay). */
  input?: PolicyInput;
}

export type Outcome =
  | { kind: 'result'; result: Params }
  | { kind: 'error'; error: JsonRpcErrorBody }
  /** Notifications produce no answer. */
  | { kind: 'none' };

export interface MessageContext {
  /** request: agent → upstream; response: upstream → agent (server-initiated messages). */
  direction: 'request' | 'response';
  message: PipelineMessage;
  agent: AgentIdentity;
  channel: AgentChannel;
  services: Services;
  /** Aborted when the agent cancels or disconnects, or the upstream cancels its request. */
  signal: CancelSignal;
  /** Set by the route stage. */
  route?: Route;
  /** Set by the describe-tool stage for tools/call. */
  tool?: ToolInput;
  /** Set by the decide stage: the decision that let the message through (one per fan-out server). */
  decisions?: Map<string, RevisedDecision>;
  /** Set by the audit stage: correlates this call's decision and outcome records. */
  callId?: string;
  /**
   * Set by the audit stage: puts the verdict on record (undefined when there is
   * nothing to wait for). The decide stage awaits it, so an allowed message's
   * decision is on disk before rate limit, hold and forward.
   */
  recordDecision?: () => Promise<void> | undefined;
  /** Set by the policy evaluation: what it decided and why, for audit, metrics and the log. */
  verdict?: Verdict;
  /** Set by the hold stage once the call is parked. */
  holdId?: string;
  /** Set by the forward stage: how long the upstream took to answer. */
  upstreamSeconds?: number;
  /** Set by the forward stage when the upstream answered with an event stream: the agent's answer is one too. */
  answerAsStream?: boolean;
  /** For server messages: the agent request they belong to (routes them onto that request's stream). */
  relatedRequestId?: RpcId;
  /** Agent-side progress token of this request, when it asked for progress. */
  progressToken?: string | number;
  /** When the message arrived (performance.now(), ms), for stages that measure. */
  receivedAt: number;
}

export type Next = () => Promise<Outcome>;
/** A stage may throw synchronously (the runner turns it into a rejection). */
export type Stage = (ctx: MessageContext, next: Next) => Promise<Outcome>;
