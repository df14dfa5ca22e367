/**
 * One upstream MCP server, shared by every agent session: an SDK Client
 * over stdio or Streamable HTTP, reconnected with exponential backoff when
 * it dies, with its health visible. Requests from the upstream to the client
 * side (sampling, elicitation, roots) and its notifications are handed to
 * the hooks; everything else is plain request/notify.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ProgressNotificationSchema, ResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Implementation, JSONRPCNotification, JSONRPCRequest, Progress, Result, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from '../config/spine-schema.js';
import { GatewayError } from '../errors.js';
import { httpTransport, stdioTransport } from './transports.js';

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
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface UpstreamRequestOptions {
  signal?: AbortSignal;
  onprogress?: (progress: Progress) => void;
}

const GATEWAY_INFO: Implementation = { name: 'portcullis', version: '0.1.0' };

/** Largest delay a Node.js timer accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Upstream {
  private client: Client | undefined;
  private state: UpstreamState = 'starting';
  private since = new Date();
  private restarts = 0;
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  /** Progress callbacks by the token the gateway put on the upstream request. */
  private readonly progress = new Map<string, (progress: Progress) => void>();
  private nextProgressToken = 1;

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
    // Progress is matched here, not by the SDK's own handler: the SDK drops progress that
    // arrives in the same read as the final answer (its answer handling runs first).
    client.setNotificationHandler(ProgressNotificationSchema, (notification) => {
      const { progressToken, ...progress } = notification.params;
      this.progress.get(String(progressToken))?.(progress);
    });
    client.fallbackNotificationHandler = async (notification) => {
      this.hooks.onNotification(this.name, { jsonrpc: '2.0', ...notification });
    };
    try {
      await client.connect(this.createTransport(), { timeout: this.config.connect_timeout_ms });
    } catch (err) {
      await client.close().catch(() => undefined);
      this.scheduleRestart(err instanceof Error ? err.message : 'connect failed');
      throw new GatewayError('upstreamUnavailable', this.name);
    }
    if (this.closed) {
      await client.close();
      return;
    }
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
      if (!this.closed) this.scheduleRestart('connection closed');
    };
    this.client = client;
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

  private ready(): Client {
    if (this.client === undefined) throw new GatewayError('upstreamUnavailable', this.name);
    return this.client;
  }

  get capabilities(): ServerCapabilities {
    return this.client?.getServerCapabilities() ?? {};
  }

  get serverInfo(): Implementation | undefined {
    return this.client?.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  /**
   * Sends one request; upstream JSON-RPC errors come back as McpError, gateway
   * failures as GatewayError. The deadline restarts on every progress
   * notification; when it passes, the call is cancelled upstream.
   */
  async request(method: string, params: Record<string, unknown> | undefined, options: UpstreamRequestOptions = {}): Promise<Result> {
    const client = this.ready();
    const deadline = new AbortController();
    let timer = setTimeout(() => deadline.abort(), this.config.timeout_ms);
    let token: string | undefined;
    let sent = params;
    if (options.onprogress !== undefined) {
      const onprogress = options.onprogress;
      token = `portcullis-${this.nextProgressToken++}`;
      this.progress.set(token, (progress) => {
        clearTimeout(timer);
        timer = setTimeout(() => deadline.abort(), this.config.timeout_ms);
        onprogress(progress);
      });
      sent = { ...params, _meta: { ...(params?._meta as Record<string, unknown> | undefined), progressToken: token } };
    }
    const signal = options.signal === undefined ? deadline.signal : AbortSignal.any([options.signal, deadline.signal]);
    try {
      // The SDK's own timeout is not used: ours restarts on progress (see above).
      return await client.request({ method, params: sent }, ResultSchema, { signal, timeout: MAX_TIMER_MS });
    } catch (err) {
      if (deadline.signal.aborted && options.signal?.aborted !== true) throw new GatewayError('upstreamTimeout', this.name);
      throw this.translate(err, options.signal);
    } finally {
      clearTimeout(timer);
      if (token !== undefined) this.progress.delete(token);
    }
  }

  async notify(method: string, params: Record<string, unknown> | undefined): Promise<void> {
    try {
      await this.ready().notification({ method, params });
    } catch (err) {
      throw this.translate(err);
    }
  }

  private translate(err: unknown, signal?: AbortSignal): unknown {
    if (err instanceof GatewayError) return err;
    if (signal?.aborted) return new GatewayError('cancelled');
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
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}
