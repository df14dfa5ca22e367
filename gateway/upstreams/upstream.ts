/**
 * One upstream MCP server, shared by every agent session: an SDK Client
 * over stdio or Streamable HTTP, reconnected with exponential backoff when
 * it dies, with its health visible. Requests from the upstream to the client
 * side (sampling, elicitation, roots) and its notifications are handed to
 * the hooks; the gateway's own requests go through the request lane.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Implementation, JSONRPCNotification, JSONRPCRequest, Progress, Result, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from './config.js';
import { GatewayError } from '../errors.js';
import type { CancelSignal } from '../protocol/cancellation.js';
import { RequestLane } from './request-lane.js';
import { httpTransport, stdioTransport } from './transports.js';
import type { LogSink } from '../util/log.js';

export type UpstreamState = 'starting' | 'ready' | 'restarting' | 'closed';

export interface UpstreamHealth {
  name: string;
  transport: 'stdio' | 'http';
  state: UpstreamState;
  restarts: number;
  since: string;
  lastError?: string;
}

export interface UpstreamHooks {
  /** A request from the upstream to the client side; answer or throw. */
  onServerRequest(upstream: string, request: JSONRPCRequest, signal: AbortSignal): Promise<Result>;
  onNotification(upstream: string, notification: JSONRPCNotification): void;
  log: LogSink;
}

export interface UpstreamRequestOptions {
  signal?: CancelSignal;
  onprogress?: (progress: Progress) => void;
}

const GATEWAY_INFO: Implementation = { name: 'portcullis', version: '0.1.0' };

interface Connection {
  client: Client;
  lane: RequestLane;
}

export class Upstream {
  private connection: Connection | undefined;
  private state: UpstreamState = 'starting';
  private since = new Date();
  private restarts = 0;
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly config: UpstreamConfig,
    private readonly baseDir: string,
    private readonly hooks: UpstreamHooks,
  ) {}

  get transportKind(): 'stdio' | 'http' {
    return this.config.stdio ? 'stdio' : 'http';
  }

  /** Connects once; on failure the upstream keeps retrying in the background. */
  start(): Promise<void> {
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private setState(state: UpstreamState, error?: string): void {
    this.state = state;
    this.since = new Date();
    if (error !== undefined) this.lastError = error;
  }

  private createTransport(): Transport {
    // The schema guarantees exactly one of stdio/http.
    return this.config.stdio ? stdioTransport(this.config.stdio, this.baseDir) : httpTransport(this.name, this.config.http!);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client(GATEWAY_INFO, {
      // Declared so upstreams may use them; each request is routed to an agent that declared it too.
      capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } },
    });
    client.fallbackRequestHandler = (request, extra) =>
      this.hooks.onServerRequest(this.name, request as JSONRPCRequest, extra.signal);
    client.fallbackNotificationHandler = async (notification) => {
      this.hooks.onNotification(this.name, { jsonrpc: '2.0', ...notification });
    };
    const lane = new RequestLane(this.createTransport(), this.name);
    try {
      await client.connect(lane, { timeout: this.config.connect_timeout_ms });
    } catch (err) {
      await client.close().catch(() => undefined);
      this.scheduleRestart(err instanceof Error ? err.message : 'connect failed');
      throw new GatewayError('upstreamUnavailable', this.name);
    }
    if (this.closed) {
      await client.close();
      return;
    }
    const connection = { client, lane };
    client.onclose = () => {
      if (this.connection === connection) this.connection = undefined;
      if (!this.closed) this.scheduleRestart('connection closed');
    };
    this.connection = connection;
    this.setState('ready');
    this.hooks.log('info', `upstream ${this.name} ready`);
  }

  private scheduleRestart(reason: string): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = Math.min(this.config.restart.initial_delay_ms * 2 ** Math.min(this.restarts, 20), this.config.restart.max_delay_ms);
    this.restarts += 1;
    this.setState('restarting', reason);
    this.hooks.log('warn', `upstream ${this.name} down (${reason}); retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.start().catch(() => undefined);
    }, delay);
    this.retryTimer.unref();
  }

  health(): UpstreamHealth {
    const health: UpstreamHealth = {
      name: this.name,
      transport: this.transportKind,
      state: this.state,
      restarts: this.restarts,
      since: this.since.toISOString(),
    };
    if (this.lastError !== undefined && this.state !== 'ready') health.lastError = this.lastError;
    return health;
  }

  /** True while connected and answering (cheaper than health() on every call). */
  get up(): boolean {
    return this.state === 'ready';
  }

  private connected(): Connection {
    if (this.connection === undefined) throw new GatewayError('upstreamUnavailable', this.name);
    return this.connection;
  }

  get capabilities(): ServerCapabilities {
    return this.connection?.client.getServerCapabilities() ?? {};
  }

  get serverInfo(): Implementation | undefined {
    return this.connection?.client.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.connection?.client.getInstructions();
  }

  /**
   * Sends one request; upstream JSON-RPC errors come back as McpError, gateway
   * failures as GatewayError. The deadline restarts on every progress
   * notification; when it passes, the call is cancelled upstream.
   */
  request(method: string, params: Record<string, unknown> | undefined, options: UpstreamRequestOptions = {}): Promise<Result> {
    return this.connected().lane.request(method, params, { signal: options.signal, onprogress: options.onprogress, timeoutMs: this.config.timeout_ms });
  }

  async notify(method: string, params: Record<string, unknown> | undefined): Promise<void> {
    try {
      await this.connected().client.notification({ method, params });
    } catch (err) {
      throw this.translate(err);
    }
  }

  private translate(err: unknown): unknown {
    if (err instanceof GatewayError) return err;
    if (err instanceof McpError) {
      if (err.code === ErrorCode.ConnectionClosed) return new GatewayError('upstreamUnavailable', this.name);
      return err;
    }
    return new GatewayError('upstreamUnavailable', this.name);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.setState('closed');
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.client.close().catch(() => undefined);
  }
}
