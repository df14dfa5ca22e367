/**
 * The gateway's own requests to one upstream, sent straight on its transport.
 * The lane sits between the transport and the SDK client: it sends each
 * forwarded request itself (ids "portcullis-<n>", which the SDK, numbering
 * its own, never uses) and takes their answers and progress off the stream;
 * every other message passes through to the SDK client, which still does the
 * handshake and the upstream's own requests and notifications. Per call this
 * skips the SDK's schema checks of every message, its per-request timer and
 * a combined AbortSignal: the lane keeps one timer and one abort listener.
 */
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage, MessageExtraInfo, Progress, Result } from '@modelcontextprotocol/sdk/types.js';
import { GatewayError } from '../errors.js';
import type { Params } from '../protocol/jsonrpc.js';
import type { CancelSignal } from '../protocol/cancellation.js';

export interface LaneRequestOptions {
  /** Aborted when the agent cancels or goes away: the upstream is told (notifications/cancelled). */
  signal?: CancelSignal | undefined;
  /** Progress from the upstream; each one restarts the deadline. */
  onprogress?: ((progress: Progress) => void) | undefined;
  /** No answer (or progress) within this long cancels the call upstream. */
  timeoutMs: number;
  /** The upstream answers with an event stream (HTTP upstreams). */
  onstream?: (() => void) | undefined;
}

/** The fields of a JSON-RPC message the lane looks at (the transport checked the shape). */
interface WireMessage {
  id?: unknown;
  method?: unknown;
  params?: Params;
  result?: Result;
  error?: { code: number; message: string; data?: unknown };
}

const ID_PREFIX = 'portcullis-';

/** What MCP requires of a progress notification's params (besides its token). */
function isProgress(params: Params): params is Progress {
  return (
    typeof params.progress === 'number' &&
    (params.total === undefined || typeof params.total === 'number') &&
    (params.message === undefined || typeof params.message === 'string')
  );
}

/**
 * One request waiting for its answer: settled exactly once, by the answer,
 * the agent's abort (it is its own abort listener), the deadline, or the
 * connection closing. One object per call instead of a closure per outcome.
 */
class PendingCall {
  private timer: NodeJS.Timeout;
  private settled = false;

  constructor(
    private readonly lane: RequestLane,
    private readonly id: string,
    private readonly options: LaneRequestOptions,
    private readonly resolve: (result: Result) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.timer = setTimeout(expire, options.timeoutMs, this);
    options.signal?.addEventListener('abort', this, { once: true });
  }

  answer(message: WireMessage): void {
    if (!this.settle()) return;
    const { error } = message;
    if (error === undefined) this.resolve(message.result ?? {});
    else this.reject(new McpError(error.code, error.message, error.data));
  }

  progress(progress: Progress): void {
    const onprogress = this.options.onprogress;
    if (onprogress === undefined || this.settled) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(expire, this.options.timeoutMs, this);
    onprogress(progress);
  }

  fail(error: GatewayError): void {
    if (this.settle()) this.reject(error);
  }

  streamed(): void {
    if (!this.settled) this.options.onstream?.();
  }

  /** Gives up on the call and tells the upstream (notifications/cancelled). */
  giveUp(error: GatewayError, reason: string): void {
    if (!this.settle()) return;
    this.reject(error);
    this.lane.cancelUpstream(this.id, reason);
  }

  /** The agent's signal aborted (this object is its listener). */
  handleEvent(): void {
    this.giveUp(new GatewayError('cancelled'), 'cancelled by the agent');
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this);
    this.lane.forget(this.id);
    return true;
  }

  timedOut(): void {
    this.giveUp(this.lane.timeoutError(), 'timed out at the gateway');
  }
}

function expire(call: PendingCall): void {
  call.timedOut();
}

export class RequestLane implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private readonly waiting = new Map<string, PendingCall>();
  private nextId = 1;

  constructor(
    private readonly inner: Transport,
    /** The upstream's name, for the errors agents see. */
    private readonly upstream: string,
  ) {}

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  /** True when no request of the gateway's is waiting for its answer. */
  get idle(): boolean {
    return this.waiting.size === 0;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  start(): Promise<void> {
    this.inner.onmessage = (message, extra) => this.receive(message as WireMessage, extra);
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onclose = () => {
      for (const call of [...this.waiting.values()]) call.fail(this.unavailableError());
      this.onclose?.();
    };
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * One request to the upstream. Its JSON-RPC error comes back as McpError
   * (passed to the agent as the upstream sent it); the gateway's own failures
   * as GatewayError: cancelled, timed out, or the connection closed.
   */
  request(method: string, params: Params | undefined, options: LaneRequestOptions): Promise<Result> {
    if (options.signal?.aborted === true) return Promise.reject(new GatewayError('cancelled'));
    const id = `${ID_PREFIX}${this.nextId++}`;
    // The request id doubles as its progress token: both are the gateway's, never the agent's.
    const sent = options.onprogress === undefined ? params : { ...params, _meta: { ...(params?._meta as Params | undefined), progressToken: id } };
    return new Promise<Result>((resolve, reject) => {
      const call = new PendingCall(this, id, options, resolve, reject);
      this.waiting.set(id, call);
      this.inner.send({ jsonrpc: '2.0', id, method, ...(sent === undefined ? {} : { params: sent }) }).catch(() => call.fail(this.unavailableError()));
    });
  }

  /** The upstream answers request `id` with an event stream. */
  streamed(id: string): void {
    this.waiting.get(id)?.streamed();
  }

  /** Called by a call once it is answered or given up on. */
  forget(id: string): void {
    this.waiting.delete(id);
  }

  /** Tells the upstream to stop working on a call the gateway gave up on. */
  cancelUpstream(id: string, reason: string): void {
    this.inner.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } }).catch(() => undefined);
  }

  unavailableError(): GatewayError {
    return new GatewayError('upstreamUnavailable', this.upstream);
  }

  timeoutError(): GatewayError {
    return new GatewayError('upstreamTimeout', this.upstream);
  }

  private receive(message: WireMessage, extra: MessageExtraInfo | undefined): void {
    const { id, method } = message;
    if (method === undefined && typeof id === 'string' && id.startsWith(ID_PREFIX)) {
      // An answer to a call that was cancelled or timed out has no one waiting: dropped.
      this.waiting.get(id)?.answer(message);
      return;
    }
    if (method === 'notifications/progress' && id === undefined) {
      // Every request the gateway forwards is the lane's: progress for any other token has no one waiting.
      const { progressToken, ...progress } = message.params ?? {};
      if (typeof progressToken === 'string' && isProgress(progress)) this.waiting.get(progressToken)?.progress(progress);
      return;
    }
    this.onmessage?.(message as JSONRPCMessage, extra);
  }
}
