/**
 * The agent-facing MCP Streamable HTTP endpoint, framework-free: POST
 * (messages), GET (the session's event stream), DELETE (end the session).
 * Every message is checked here for shape, then handed to the pipeline.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCNotification, JSONRPCRequest, Result } from '@modelcontextprotocol/sdk/types.js';
import { ERRORS, GatewayError, rpcError } from '../errors.js';
import type { ErrorName } from '../errors.js';
import type { AgentIdentity } from '../identity/agent.js';
import type { Refusal } from '../audit/index.js';
import type { Endpoint, MessageContext, Outcome, Services, Stage } from '../pipeline/context.js';
import { NEVER_CANCELLED, type CancelSignal } from '../protocol/cancellation.js';
import { runPipeline } from '../pipeline/run.js';
import { PostExchange } from './exchange.js';
import { SseStream, writeHttpError } from './http-io.js';
import type { WireMessage } from './http-io.js';
import { negotiateVersion } from '../pipeline/initialize.js';
import { jsonTextProblem } from './json-depth.js';
import { classify } from '../protocol/jsonrpc.js';
import type { Classified, Params, RpcId, RpcMessage } from '../protocol/jsonrpc.js';
import type { ResumeSettings } from './resumable.js';
import { AgentSession, ownerOf } from './session.js';
import { SessionStore } from './sessions.js';
import type { LaneScope } from '../upstreams/agent-lanes.js';

export interface HttpCall {
  req: IncomingMessage;
  res: ServerResponse;
  agent: AgentIdentity;
  endpoint: Endpoint;
  /** Raw request body (POST), already bounded by the edge's body limit. */
  body?: string;
}

/** Protocol versions from which JSON-RPC batches are forbidden. */
const NO_BATCH_FROM = '2025-06-18';
const MAX_BATCH = 100;

/** The reconnection delay a resumable stream's priming event asks for (the SDK client's own default). */
const RESUME_RETRY_MS = 1000;
/** What one session keeps for resumes, all its streams together; older events go first past either bound. */
const RESUME_MAX_EVENTS = 1000;
const RESUME_MAX_BYTES = 2 * 1024 * 1024;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function wireAnswer(id: RpcId | null, outcome: Outcome): WireMessage {
  if (outcome.kind === 'result') return { jsonrpc: '2.0', id, result: outcome.result };
  const error = outcome.kind === 'error' ? outcome.error : rpcError('internalError');
  return { jsonrpc: '2.0', id, error };
}

function endpointServes(endpoint: Endpoint, upstream: string): boolean {
  return endpoint.kind === 'aggregate' || endpoint.server === upstream;
}

function serverName(endpoint: Endpoint): string {
  return endpoint.kind === 'server' ? endpoint.server : '*';
}

/**
 * The protocol's notification namespace and the presence of an id must
 * agree. A request's method sent without an id would travel without an
 * answer, so without a decision anyone waits for; a notification's method
 * sent with an id would be forwarded as a request the server never expects.
 */
function validMessage(c: Classified): Classified {
  if (!c.ok) return c;
  const { message } = c;
  if (message.kind === 'notification' && !message.method.startsWith('notifications/')) return { ok: false, id: null };
  if (message.kind === 'request' && message.method.startsWith('notifications/')) return { ok: false, id: message.id };
  return c;
}

/** The registry name of a code answered by the pipeline, for refusal accounting. */
const NAME_OF_CODE = new Map<number, ErrorName>();
for (const [name, kind] of Object.entries(ERRORS) as Array<[ErrorName, (typeof ERRORS)[ErrorName]]>) if (!NAME_OF_CODE.has(kind.code)) NAME_OF_CODE.set(kind.code, name);

export class McpHttp {
  private readonly sessions: SessionStore;
  /** Sessions of stateless POSTs, alive only while their POST is. */
  private readonly ephemeral = new Set<AgentSession>();

  private readonly stateless: boolean;
  private readonly maxJsonDepth: number;
  /** listen.sse_answers: tools_call. */
  private readonly toolCallsStreamed: boolean;
  /** How stateful sessions resume their event streams (listen.resume_grace_ms; 0 turns it off). */
  private readonly resume: ResumeSettings | undefined;

  constructor(
    private readonly stages: readonly Stage[],
    private readonly services: Services,
  ) {
    const listen = services.config.listen;
    this.stateless = listen.sessions === 'stateless';
    this.maxJsonDepth = listen.max_json_depth;
    this.toolCallsStreamed = listen.sse_answers === 'tools_call';
    this.resume =
      this.stateless || listen.resume_grace_ms === 0
        ? undefined
        : { graceMs: listen.resume_grace_ms, retryMs: RESUME_RETRY_MS, maxEvents: RESUME_MAX_EVENTS, maxBytes: RESUME_MAX_BYTES };
    this.sessions = new SessionStore(listen.session_idle_timeout_ms, { perAgent: listen.max_sessions_per_agent, total: listen.max_sessions }, (open) =>
      services.metrics.sessions(open),
    );
  }

  /** Answers an HTTP request with a registered error and accounts for the refusal. */
  private refuse(call: HttpCall, name: ErrorName, id: RpcId | null = null, detail?: string, headers?: Record<string, string>): void {
    this.refused(call, name, sessionHeader(call));
    writeHttpError(call.res, name, id, detail, headers);
  }

  private refused(call: HttpCall, reason: ErrorName, sessionId: string | undefined, method?: string): void {
    const refusal: Refusal = { reason, code: ERRORS[reason].code, agent: call.agent.id, server: serverName(call.endpoint) };
    const remote = call.req.socket.remoteAddress;
    if (remote !== undefined) refusal.remote = remote;
    if (method !== undefined) refusal.method = method;
    if (sessionId !== undefined) refusal.session = sessionId;
    this.services.refusals.refuse(refusal);
  }

  /** A message the pipeline answered with an error before the policy was asked. */
  private refusedBeforePolicy(call: HttpCall, session: AgentSession, ctx: MessageContext, outcome: Outcome): void {
    if (outcome.kind !== 'error' || ctx.verdict !== undefined) return;
    this.refused(call, NAME_OF_CODE.get(outcome.error.code) ?? 'internalError', session.sessionId, ctx.message.method);
  }

  private *liveSessions(): Generator<AgentSession> {
    yield* this.sessions.all();
    yield* this.ephemeral;
  }

  /** The session a non-initialize HTTP request belongs to, or an HTTP error already written. */
  private existingSession(call: HttpCall): AgentSession | undefined {
    const id = header(call.req, 'mcp-session-id');
    if (id === undefined) {
      this.refuse(call, 'sessionRequired');
      return undefined;
    }
    const session = this.sessions.get(id);
    // Another agent's session id is answered exactly like an unknown one.
    if (session === undefined || !session.ownedBy(call.agent) || !sameEndpoint(session.endpoint, call.endpoint)) {
      this.refuse(call, 'sessionNotFound');
      return undefined;
    }
    session.touch();
    return session;
  }

  private protocolHeaderOk(call: HttpCall): boolean {
    const version = header(call.req, 'mcp-protocol-version');
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      this.refuse(call, 'unsupportedProtocolVersion', null, version);
      return false;
    }
    return true;
  }

  async post(call: HttpCall): Promise<void> {
    const accept = header(call.req, 'accept') ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return this.refuse(call, 'notAcceptable');
    if (!this.protocolHeaderOk(call)) return;
    const text = call.body ?? '';
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return this.refuse(call, 'parseError');
    }
    const problem = jsonTextProblem(text, this.maxJsonDepth);
    if (problem === 'nestedTooDeep') return this.refuse(call, problem, null, `limit ${this.maxJsonDepth} levels`);
    if (problem !== undefined) return this.refuse(call, problem);
    const batch = Array.isArray(body);
    const elements: unknown[] = batch ? (body as unknown[]) : [body];
    if (elements.length === 0) return this.refuse(call, 'invalidRequest', null, 'empty batch');
    if (elements.length > MAX_BATCH) return this.refuse(call, 'batchTooLarge');
    const classified = elements.map((element) => validMessage(classify(element)));
    if (!batch && classified[0]?.ok === false) return this.refuse(call, 'invalidRequest', classified[0].id);

    const initialize = classified.find((c) => c.ok && c.message.kind === 'request' && c.message.method === 'initialize');
    if (initialize !== undefined && batch) return this.refuse(call, 'invalidRequest', null, 'initialize must be sent alone');
    let session: AgentSession | undefined;
    let admitted: string | undefined;
    if (initialize?.ok && initialize.message.kind === 'request') {
      if (!this.stateless) {
        const limit = this.sessions.admit(ownerOf(call.agent));
        if (limit !== undefined) return this.refuse(call, limit, initialize.message.id);
        admitted = ownerOf(call.agent);
      }
      const params = initialize.message.params ?? {};
      const capabilities = (params.capabilities ?? {}) as Params;
      session = new AgentSession(this.stateless ? undefined : randomUUID(), call.endpoint, call.agent, negotiateVersion(params.protocolVersion), capabilities, this.resume);
      const id = session.sessionId;
      if (id !== undefined) session.onClose(() => this.services.upstreams.endSession(id));
    } else if (this.stateless) {
      session = new AgentSession(undefined, call.endpoint, call.agent, header(call.req, 'mcp-protocol-version') ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION, {});
    } else {
      session = this.existingSession(call);
      if (session === undefined) return;
    }
    if (batch && session.protocolVersion >= NO_BATCH_FROM) return this.refuse(call, 'batchNotSupported');

    const requests: Array<Extract<RpcMessage, { kind: 'request' }>> = [];
    const others: RpcMessage[] = [];
    const early: WireMessage[] = [];
    const seen = new Set<RpcId>();
    for (const c of classified) {
      if (!c.ok) {
        this.refused(call, 'invalidRequest', session.sessionId);
        early.push({ jsonrpc: '2.0', id: c.id, error: rpcError('invalidRequest') });
      } else if (c.message.kind !== 'request') others.push(c.message);
      else if (seen.has(c.message.id)) {
        this.refused(call, 'invalidRequest', session.sessionId, c.message.method);
        early.push({ jsonrpc: '2.0', id: c.message.id, error: rpcError('invalidRequest', 'duplicate id') });
      } else {
        seen.add(c.message.id);
        requests.push(c.message);
      }
    }
    const headers: Record<string, string> = session.sessionId === undefined ? {} : { 'mcp-session-id': session.sessionId };
    if (this.stateless) this.ephemeral.add(session);
    let opened = false;
    try {
      for (const message of others) await this.fromAgent(call, session, message);
      if (requests.length === 0 && early.length === 0) {
        call.res.writeHead(202, headers).end();
        return;
      }
      const exchange = new PostExchange(call.res, requests.map((r) => r.id), early, batch, headers, session.resumption);
      if (this.toolCallsStreamed && requests.some((r) => r.method === 'tools/call')) exchange.streamed();
      const controllers = requests.map((request) => ({ request, signal: session.begin(request.id, exchange) }));
      exchange.onAbandoned(() => {
        for (const { request } of controllers) session.cancel(request.id);
      });
      await Promise.all(
        controllers.map(async ({ request, signal }) => {
          const outcome = await this.runRequest(call, session, request, signal, exchange);
          session.end(request.id);
          if (admitted !== undefined && outcome.kind === 'result') {
            opened = true;
            this.opened(session);
          }
          exchange.answer(request.id, wireAnswer(request.id, outcome));
        }),
      );
    } finally {
      if (admitted !== undefined && !opened) this.sessions.release(admitted);
      session.touch();
      if (this.stateless) {
        this.ephemeral.delete(session);
        session.close();
      }
    }
  }

  /** A session that completed initialize: kept, counted and on record. */
  private opened(session: AgentSession): void {
    this.sessions.add(session);
    const audit = this.services.audit;
    if (audit === undefined || session.sessionId === undefined) return;
    const details = { session: session.sessionId, agent: session.agent.id, server: serverName(session.endpoint), protocol_version: session.protocolVersion };
    audit.record({ type: 'event', control: 'session', event: 'opened', details }).catch(() => this.services.log('error', 'audit record of a session not written', { session: session.sessionId }));
  }

  private async runRequest(call: HttpCall, session: AgentSession, request: Extract<RpcMessage, { kind: 'request' }>, signal: CancelSignal, exchange: PostExchange): Promise<Outcome> {
    const ctx: MessageContext = {
      direction: 'request',
      message: request.params === undefined ? { kind: 'request', id: request.id, method: request.method } : { kind: 'request', id: request.id, method: request.method, params: request.params },
      agent: session.agent,
      channel: session,
      services: this.services,
      signal,
      receivedAt: performance.now(),
    };
    const token = (request.params?._meta as Params | undefined)?.progressToken;
    // A string or an integer, as MCP defines it (anything else is refused by the validate-params stage).
    if (typeof token === 'string' || (typeof token === 'number' && Number.isSafeInteger(token))) ctx.progressToken = token;
    session.track(request.id, ctx);
    const outcome = await runPipeline(this.stages, ctx);
    this.refusedBeforePolicy(call, session, ctx, outcome);
    // An upstream that answered with an event stream gets the agent one too.
    if (ctx.answerAsStream === true) exchange.streamed();
    return outcome;
  }

  /** Notifications and answers to the gateway's own requests. */
  private async fromAgent(call: HttpCall, session: AgentSession, message: RpcMessage): Promise<void> {
    if (message.kind === 'result' || message.kind === 'error') {
      if (message.id !== null) session.answerFromAgent(message.id, message.kind === 'result' ? { result: message.result } : { error: message.error });
      return;
    }
    if (message.kind !== 'notification') return;
    const ctx: MessageContext = {
      direction: 'request',
      message: message.params === undefined ? { kind: 'notification', method: message.method } : { kind: 'notification', method: message.method, params: message.params },
      agent: session.agent,
      channel: session,
      services: this.services,
      signal: NEVER_CANCELLED,
      receivedAt: performance.now(),
    };
    const outcome = await runPipeline(this.stages, ctx);
    this.refusedBeforePolicy(call, session, ctx, outcome);
    if (outcome.kind === 'error') this.services.log('info', 'notification not forwarded', { method: message.method, code: outcome.error.code });
  }

  get(call: HttpCall): void {
    if (!(header(call.req, 'accept') ?? '').includes('text/event-stream')) return this.refuse(call, 'notAcceptableSse');
    if (this.stateless) return this.refuse(call, 'methodNotAllowed', null, undefined, { allow: 'POST' });
    if (!this.protocolHeaderOk(call)) return;
    const session = this.existingSession(call);
    if (session === undefined) return;
    const headers = { 'mcp-session-id': session.sessionId ?? '' };
    const lastEventId = header(call.req, 'last-event-id');
    if (lastEventId !== undefined) {
      if (!session.resume(lastEventId, () => new SseStream(call.res, headers))) this.refuse(call, 'unknownEventId');
      return;
    }
    if (!session.canAttachStream()) return this.refuse(call, 'streamConflict');
    session.attachStream(new SseStream(call.res, headers));
  }

  delete(call: HttpCall): void {
    if (this.stateless) return this.refuse(call, 'methodNotAllowed', null, undefined, { allow: 'POST' });
    const session = this.existingSession(call);
    if (session === undefined || session.sessionId === undefined) return;
    this.sessions.delete(session.sessionId);
    call.res.writeHead(200).end();
  }

  /** The live sessions an upstream connection of `scope` serves. */
  private *sessionsOf(scope: LaneScope): Generator<AgentSession> {
    if (scope.kind === 'session') {
      const session = this.sessions.get(scope.session);
      if (session !== undefined) yield session;
      return;
    }
    for (const session of this.liveSessions()) if (scope.kind === 'shared' || session.ofIdentity(scope.auth, scope.id)) yield session;
  }

  /**
   * The agent session a server message from a connection of `scope` belongs
   * to, and the call when only one of it waits on the upstream. A session's
   * own upstream session speaks for that session alone; a connection several
   * sessions share names one only when the calls waiting on it are all of
   * one session (else nobody can tell whose the message is).
   */
  private causeOf(upstream: string, scope: LaneScope): { session: AgentSession; id?: RpcId | undefined } | undefined {
    let cause: { session: AgentSession; id?: RpcId | undefined } | undefined;
    for (const session of this.sessionsOf(scope)) {
      const waiting = session.inFlightFor(upstream);
      if (waiting.length === 0 && scope.kind !== 'session') continue;
      if (cause !== undefined) return undefined;
      cause = { session, id: waiting.length === 1 ? waiting[0] : undefined };
    }
    return cause;
  }

  /** A request from an upstream (sampling, elicitation, roots): to the agent whose call caused it. */
  async onServerRequest(upstream: string, request: JSONRPCRequest, signal: AbortSignal, scope: LaneScope): Promise<Result> {
    const cause = this.causeOf(upstream, scope);
    if (cause === undefined) throw new GatewayError('clientUnreachable', 'cannot tell which agent the server request is for');
    const message = { kind: 'request' as const, method: request.method, ...(request.params === undefined ? {} : { params: request.params as Params }) };
    const outcome = await this.services.relay(cause.session, cause.session.agent, upstream, message, cause.id, signal);
    if (outcome.kind === 'result') return outcome.result;
    const error = outcome.kind === 'error' ? outcome.error : rpcError('internalError');
    // `code` and `data` are what the SDK copies into its error answer to the upstream.
    throw Object.assign(new Error(error.message), { code: error.code, data: error.data });
  }

  /**
   * A notification from an upstream connection of `scope`: list changes to
   * every session it serves, resource updates to those of them subscribed,
   * the rest (logging, anything that may carry one agent's data) to the
   * session whose call it belongs to.
   */
  onNotification(upstream: string, notification: JSONRPCNotification, scope: LaneScope): void {
    const { method } = notification;
    const params = notification.params as Params | undefined;
    const message = { kind: 'notification' as const, method, ...(params === undefined ? {} : { params }) };
    const targets: Array<{ session: AgentSession; related?: RpcId | undefined }> = [];
    if (method.endsWith('/list_changed')) {
      for (const session of this.sessionsOf(scope)) if (endpointServes(session.endpoint, upstream)) targets.push({ session });
    } else if (method === 'notifications/resources/updated') {
      const uri = typeof params?.uri === 'string' ? params.uri : '';
      for (const session of this.sessionsOf(scope)) if (endpointServes(session.endpoint, upstream) && session.isSubscribed(uri)) targets.push({ session });
    } else {
      const cause = this.causeOf(upstream, scope);
      if (cause !== undefined) targets.push({ session: cause.session, related: cause.id });
    }
    for (const { session, related } of targets) {
      void this.services.relay(session, session.agent, upstream, message, related, NEVER_CANCELLED);
    }
  }

  /** Closes the sessions (their streams and calls) of agents `refused` picks, e.g. revoked ones. */
  closeSessions(refused: (agent: AgentIdentity) => boolean): void {
    for (const session of [...this.liveSessions()]) {
      if (!refused(session.agent)) continue;
      if (session.sessionId === undefined) session.close();
      else this.sessions.delete(session.sessionId);
    }
  }

  close(): void {
    this.sessions.closeAll();
    for (const session of this.ephemeral) session.close();
  }
}

/** The session id an HTTP request names, for the record of its refusal. */
function sessionHeader(call: HttpCall): string | undefined {
  return header(call.req, 'mcp-session-id');
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.kind === b.kind && (a.kind === 'aggregate' || (b.kind === 'server' && a.server === b.server));
}
