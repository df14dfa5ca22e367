/**
 * `portcullis connect` over stdio: the local client launches the bridge as
 * its MCP server and speaks JSON-RPC on stdin/stdout; each message goes to
 * the gateway as it is (the SDK's Streamable HTTP client transport carries
 * it) and every message from the gateway (answers, progress, logging,
 * sampling, elicitation and roots requests) comes back as it is. The bridge
 * reads only what it must: the client's initialize (replayed to open a new
 * session when the gateway forgot the old one, e.g. after a restart), the
 * negotiated protocol version (a header of every later request), and which
 * requests are still unanswered (answered with an error when their session
 * is gone, so the client does not wait forever).
 */
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCErrorResponse, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCErrorResponse, JSONRPCMessage, JSONRPCRequest, JSONRPCResultResponse, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { rpcError } from '../errors.js';
import { connectionFailure, gatewayRefusal } from './failure.js';
import type { FailureReporter } from './failure.js';
import type { GatewayLink } from './link.js';

/** The gateway's GET stream is retried for about an hour of downtime, then only client messages reconnect. */
const RECONNECTION = { initialReconnectionDelay: 250, maxReconnectionDelay: 5000, reconnectionDelayGrowFactor: 1.5, maxRetries: 720 };
/** How long a replayed initialize may take before the reconnection counts as failed. */
const REINITIALIZE_TIMEOUT_MS = 30_000;
/** How long closing waits for the gateway to end the session (DELETE). */
const CLOSE_TIMEOUT_MS = 2000;

/** The gateway refused the request outright (401, 403): retrying the same credentials will not help. */
class GatewayRefused extends Error {}

type Answer = JSONRPCResultResponse | JSONRPCErrorResponse;

export class StdioRelay {
  private upstream: StreamableHTTPClientTransport | undefined;
  /** The client's initialize request, replayed when a new session must be opened. */
  private initialize: JSONRPCRequest | undefined;
  private awaitingInitialize = false;
  private sessionLost = false;
  private reopening: Promise<void> | undefined;
  /** Client requests the gateway accepted and has not answered yet, with the transport that carried them. */
  private readonly pending = new Map<RequestId, StreamableHTTPClientTransport>();
  private replay: { id: string; settle: (answer: Answer) => void } | undefined;
  private replays = 0;

  constructor(
    private readonly client: Transport,
    private readonly link: GatewayLink,
    private readonly report: FailureReporter,
  ) {}

  async start(): Promise<void> {
    this.client.onmessage = (message) => void this.fromClient(message);
    await this.client.start();
  }

  /** Ends the gateway session (DELETE, briefly waited for) and closes both sides. */
  async close(): Promise<void> {
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)));
      await Promise.race([upstream.terminateSession().catch(() => undefined), late]);
      clearTimeout(timer);
      await upstream.close();
    }
    await this.client.close();
  }

  /** The link's fetch, turning a refusal into an error that says why and noting when the gateway serves. */
  private readonly fetch = (async (url: string | URL, init?: RequestInit): Promise<Response> => {
    let response: Response;
    try {
      response = await this.link.fetch(url, init);
    } catch (err) {
      const reason = connectionFailure(err, this.link.url);
      if (reason !== undefined) this.report.failed(reason);
      throw err;
    }
    if (response.status === 401 || response.status === 403) {
      const reason = gatewayRefusal(response.status, await response.text());
      this.report.failed(reason);
      throw new GatewayRefused(reason);
    }
    if (response.ok) this.report.served(this.link.url);
    return response;
  }) as typeof fetch;

  private async openTransport(): Promise<StreamableHTTPClientTransport> {
    const transport = new StreamableHTTPClientTransport(this.link.url, { fetch: this.fetch, reconnectionOptions: RECONNECTION });
    transport.onmessage = (message) => this.fromGateway(transport, message);
    transport.onerror = (err) => {
      // The session is gone (e.g. the event stream's reconnection met a restarted gateway): open a new one now,
      // so server notifications flow again without waiting for the client's next message.
      if (transport === this.upstream && this.sessionGone(transport, err)) void this.reopen().catch(() => undefined);
    };
    await transport.start();
    return transport;
  }

  private sessionGone(transport: StreamableHTTPClientTransport, err: unknown): boolean {
    return err instanceof StreamableHTTPError && err.code === 404 && transport.sessionId !== undefined;
  }

  private async fromClient(message: JSONRPCMessage): Promise<void> {
    const request = isJSONRPCRequest(message) ? message : undefined;
    try {
      if (request?.method === 'initialize') {
        this.initialize = request;
        this.awaitingInitialize = true;
        const old = this.upstream;
        this.upstream = await this.openTransport();
        if (old !== undefined) await old.close();
      } else if (this.sessionLost) {
        await this.reopen();
      }
      await this.forward(message, request);
    } catch (err) {
      if (request === undefined) return; // a notification or an answer is lost; the reporter said why
      this.pending.delete(request.id);
      await this.client.send({ jsonrpc: '2.0', id: request.id, error: rpcError('gatewayUnreachable', this.reasonOf(err)) });
    }
  }

  /** Sends one client message; a session the gateway no longer knows is reopened once and the message sent again. */
  private async forward(message: JSONRPCMessage, request: JSONRPCRequest | undefined): Promise<void> {
    this.upstream ??= await this.openTransport();
    const transport = this.upstream;
    if (request !== undefined) this.pending.set(request.id, transport);
    try {
      await transport.send(message);
    } catch (err) {
      if (request?.method === 'initialize' || !this.sessionGone(transport, err)) throw err;
      if (request !== undefined) this.pending.delete(request.id);
      this.sessionLost = true;
      await this.reopen();
      const reopened = this.upstream;
      if (request !== undefined) this.pending.set(request.id, reopened);
      await reopened.send(message);
    }
  }

  private fromGateway(transport: StreamableHTTPClientTransport, message: JSONRPCMessage): void {
    if (transport !== this.upstream) return; // a late message of a session already replaced
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      if (this.replay !== undefined && message.id === this.replay.id) {
        this.replay.settle(message);
        return;
      }
      if (message.id !== undefined) this.pending.delete(message.id);
      if (this.awaitingInitialize && message.id === this.initialize?.id) {
        this.awaitingInitialize = false;
        if (isJSONRPCResultResponse(message)) this.negotiated(transport, message.result);
      }
    }
    void this.client.send(message);
  }

  /** Later requests carry the negotiated version in MCP-Protocol-Version. */
  private negotiated(transport: StreamableHTTPClientTransport, result: Record<string, unknown>): void {
    if (typeof result.protocolVersion === 'string') transport.setProtocolVersion(result.protocolVersion);
  }

  private reopen(): Promise<void> {
    this.reopening ??= this.reinitialize().finally(() => {
      this.reopening = undefined;
    });
    return this.reopening;
  }

  /** A new gateway session, initialized with the client's own initialize request; calls of the old one are answered as lost. */
  private async reinitialize(): Promise<void> {
    const initialize = this.initialize;
    if (initialize === undefined) throw new Error('the client has not initialized a session');
    const old = this.upstream;
    this.upstream = await this.openTransport();
    if (old !== undefined) {
      await this.failPending(old, 'the gateway ended the session (restarted?), the call was lost');
      await old.close();
    }
    const transport = this.upstream;
    const id = `portcullis-connect-reinitialize-${++this.replays}`;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<Answer>((resolve, reject) => {
      this.replay = { id, settle: resolve };
      timer = setTimeout(() => reject(new Error('the gateway did not answer initialize in time')), REINITIALIZE_TIMEOUT_MS);
    });
    try {
      await transport.send({ ...initialize, id });
      const answer = await answered;
      if (isJSONRPCErrorResponse(answer)) throw new Error(`the gateway refused initialize: ${answer.error.message}`);
      this.negotiated(transport, answer.result);
      await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      this.sessionLost = false;
    } finally {
      clearTimeout(timer);
      this.replay = undefined;
    }
  }

  private async failPending(transport: StreamableHTTPClientTransport, reason: string): Promise<void> {
    for (const [id, carrier] of this.pending) {
      if (carrier !== transport) continue;
      this.pending.delete(id);
      await this.client.send({ jsonrpc: '2.0', id, error: rpcError('gatewayUnreachable', reason) });
    }
  }

  private reasonOf(err: unknown): string {
    if (err instanceof GatewayRefused) return err.message;
    if (err instanceof StreamableHTTPError) return `the gateway answered HTTP ${err.code}`;
    return connectionFailure(err, this.link.url) ?? 'the gateway could not be reached';
  }
}
