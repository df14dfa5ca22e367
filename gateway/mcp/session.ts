/**
 * One agent session on an MCP endpoint: who it belongs to, its negotiated
 * protocol, its open streams (resumable ones, with their kept events, when
 * the gateway resumes streams), its in-flight requests (so cancellation and
 * disconnects reach the upstream) and the requests the gateway sent it.
 */
import { GatewayError } from '../errors.js';
import type { AgentIdentity } from '../identity/agent.js';
import { Cancellation, type CancelSignal } from '../protocol/cancellation.js';
import type { AgentChannel, Endpoint, Route } from '../pipeline/context.js';
import type { PostExchange, Resumption } from './exchange.js';
import type { SseStream, WireMessage } from './http-io.js';
import { SessionEvents } from './resumable.js';
import type { ResumableStream, ResumeSettings } from './resumable.js';
import type { Params, RpcId } from '../protocol/jsonrpc.js';

interface InFlight {
  cancellation: Cancellation;
  exchange: PostExchange;
  /** The request's pipeline context: its route says which upstream it waits on. */
  ctx?: { route?: Route };
}

interface PendingAgentRequest {
  resolve(result: Params): void;
  reject(error: Error): void;
}

/** Server requests need the matching client capability. */
const REQUIRED_CAPABILITY: Record<string, string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/** Upper bound on how long the gateway waits for an agent to answer a server request. */
const AGENT_ANSWER_TIMEOUT_MS = 600_000;

/** The first protocol version whose clients take a priming event (an event id without data). */
const PRIMING_FROM = '2025-11-25';

function key(id: RpcId): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}

export function ownerOf(agent: AgentIdentity): string {
  return `${agent.auth}:${agent.id}`;
}

export class AgentSession implements AgentChannel {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly pending = new Map<string, PendingAgentRequest>();
  private readonly owners = new Map<string, string>();
  private readonly subscriptions = new Set<string>();
  private standalone: SseStream | ResumableStream | undefined;
  /** How this session's event streams resume; undefined when they do not (stateless, or resumption off). */
  readonly resumption: Resumption | undefined;
  private readonly closeListeners: Array<() => void> = [];
  private nextId = 1;
  lastActivity = Date.now();

  constructor(
    readonly sessionId: string | undefined,
    readonly endpoint: Endpoint,
    readonly agent: AgentIdentity,
    readonly protocolVersion: string,
    readonly clientCapabilities: Params,
    resume?: ResumeSettings,
  ) {
    this.resumption = resume === undefined ? undefined : { events: new SessionEvents(resume), prime: protocolVersion >= PRIMING_FROM };
  }

  /** Whether a later HTTP request comes from the agent this session belongs to. */
  ownedBy(agent: AgentIdentity): boolean {
    return agent.id === this.agent.id && agent.auth === this.agent.auth;
  }

  /** Whether the session belongs to the agent identity `auth`/`id` (an upstream connection per identity serves all of them). */
  ofIdentity(auth: string, id: string): boolean {
    return this.agent.auth === auth && this.agent.id === id;
  }

  /** Runs `listener` once, when the session closes (its upstream sessions end with it). */
  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** The identity sessions are counted against: the same for every session ownedBy() accepts. */
  get owner(): string {
    return ownerOf(this.agent);
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  canAttachStream(): boolean {
    return this.standalone?.live !== true;
  }

  /** A new GET stream: the session's stream for messages unrelated to a request (one it had and lost ends). */
  attachStream(connection: SseStream): void {
    this.standalone?.end();
    if (this.resumption === undefined) {
      this.standalone = connection;
      return;
    }
    const stream = this.resumption.events.open();
    stream.start(connection, this.resumption.prime);
    this.standalone = stream;
  }

  /** GET with Last-Event-ID: the events after it on their stream, then that stream goes on, on `connect()`; false when it names none this session can resume. */
  resume(lastEventId: string, connect: () => SseStream): boolean {
    const found = this.resumption?.events.find(lastEventId);
    if (found === undefined) return false;
    found.stream.resume(connect(), found.after);
    return true;
  }

  /** Registers an agent request; its signal aborts on cancel, disconnect or session end. */
  begin(id: RpcId, exchange: PostExchange): CancelSignal {
    const entry: InFlight = { cancellation: new Cancellation(), exchange };
    this.inFlight.set(key(id), entry);
    return entry.cancellation;
  }

  track(id: RpcId, ctx: { route?: Route }): void {
    const entry = this.inFlight.get(key(id));
    if (entry) entry.ctx = ctx;
  }

  end(id: RpcId): void {
    this.inFlight.delete(key(id));
  }

  /** Agent request ids currently waiting on `server`. */
  inFlightFor(server: string): RpcId[] {
    const ids: RpcId[] = [];
    for (const [k, entry] of this.inFlight) {
      const route = entry.ctx?.route;
      if (route?.kind === 'upstream' && route.server === server) ids.push(k.startsWith('n:') ? Number(k.slice(2)) : k.slice(2));
    }
    return ids;
  }

  cancel(requestId: RpcId): void {
    this.inFlight.get(key(requestId))?.cancellation.abort();
  }

  /**
   * On the related request's stream, else the session's own stream; a
   * request the agent must answer goes, failing both, on any of this
   * session's open POST streams (an upstream session of this agent session
   * may not say which of its calls the request belongs to). A stream whose
   * connection broke keeps what it is sent for the agent's resume; a request
   * not related to a call goes only where an agent is connected now.
   */
  private deliver(message: WireMessage, relatedRequestId: RpcId | undefined, anyStream = false): boolean {
    const exchange = relatedRequestId === undefined ? undefined : this.inFlight.get(key(relatedRequestId))?.exchange;
    if (exchange?.open && exchange.push(message)) return true;
    const standalone = this.standalone;
    if (standalone !== undefined && (anyStream ? standalone.live : standalone.open) && standalone.send(message)) return true;
    if (anyStream) for (const entry of this.inFlight.values()) if (entry.exchange.open && entry.exchange.push(message)) return true;
    return false;
  }

  notify(method: string, params: Params | undefined, relatedRequestId?: RpcId): void {
    this.deliver(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }, relatedRequestId);
  }

  request(method: string, params: Params | undefined, relatedRequestId: RpcId | undefined, signal: CancelSignal): Promise<Params> {
    const capability = REQUIRED_CAPABILITY[method];
    if (capability !== undefined && this.clientCapabilities[capability] === undefined) {
      return Promise.reject(new GatewayError('clientUnreachable', `agent did not declare ${capability}`));
    }
    const id = `portcullis-${this.nextId++}`;
    const message: WireMessage = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
    return new Promise<Params>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new GatewayError('clientUnreachable', 'agent did not answer in time'))), AGENT_ANSWER_TIMEOUT_MS);
      const onAbort = (): void => {
        this.notify('notifications/cancelled', { requestId: id, reason: 'cancelled by the server' }, relatedRequestId);
        settle(() => reject(new GatewayError('cancelled')));
      };
      const settle = (finish: () => void): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        finish();
      };
      this.pending.set(id, { resolve: (result) => settle(() => resolve(result)), reject: (error) => settle(() => reject(error)) });
      signal.addEventListener('abort', onAbort, { once: true });
      if (!this.deliver(message, relatedRequestId, true)) settle(() => reject(new GatewayError('clientUnreachable', 'no open stream to the agent')));
    });
  }

  /** The agent's answer to a request the gateway sent; false when nothing waits for it. */
  answerFromAgent(id: RpcId, outcome: { result: Params } | { error: { code: number; message: string; data?: unknown } }): boolean {
    const waiting = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (waiting === undefined) return false;
    if ('result' in outcome) waiting.resolve(outcome.result);
    // `code` and `data` are what the SDK copies into the error it sends upstream.
    else waiting.reject(Object.assign(new Error(outcome.error.message), { code: outcome.error.code, data: outcome.error.data }));
    return true;
  }

  resourceOwner(uri: string): string | undefined {
    return this.owners.get(uri);
  }

  rememberResources(server: string, uris: string[]): void {
    for (const uri of uris) this.owners.set(uri, server);
  }

  subscribed(uri: string, on: boolean): void {
    if (on) this.subscriptions.add(uri);
    else this.subscriptions.delete(uri);
  }

  isSubscribed(uri: string): boolean {
    return this.subscriptions.has(uri);
  }

  close(): void {
    for (const entry of this.inFlight.values()) entry.cancellation.abort();
    this.inFlight.clear();
    for (const waiting of this.pending.values()) waiting.reject(new GatewayError('sessionNotFound'));
    this.standalone?.end();
    this.resumption?.events.close();
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
