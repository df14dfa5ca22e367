/**
 * One upstream MCP server: the gateway's own connection (an SDK Client over
 * stdio or Streamable HTTP, reconnected with exponential backoff when it
 * dies, its health visible), used by every agent under `isolation: shared`;
 * under `per_agent`, each agent's calls go on a connection of its own (see
 * agent-lanes.ts), whose tool list is its own too (lane-tools.ts). Requests
 * from the upstream to the client side (sampling, elicitation, roots) and its
 * notifications are handed to the hooks with the scope they came from; the
 * gateway's own requests go through the request lane.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ClientCapabilities, Implementation, JSONRPCNotification, JSONRPCRequest, Progress, Result, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { DEFAULT_MAX_PROCESSES, DEFAULT_MAX_SESSIONS } from './config.js';
import type { UpstreamConfig } from './config.js';
import { GatewayError } from '../errors.js';
import type { CancelSignal } from '../protocol/cancellation.js';
import { AgentLanes, SHARED_LANE } from './agent-lanes.js';
import type { LaneAgent, LaneScope } from './agent-lanes.js';
import { ALL_CLIENT_CAPABILITIES, closeConnection, openConnection } from './connection.js';
import type { Connection } from './connection.js';
import type { LaneTools } from './lane-tools.js';
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
  /** A request from the upstream to the client side, on a connection of `scope`; answer or throw. */
  onServerRequest(upstream: string, request: JSONRPCRequest, signal: AbortSignal, scope: LaneScope): Promise<Result>;
  onNotification(upstream: string, notification: JSONRPCNotification, scope: LaneScope): void;
  /** Each listing of the tools of one connection (`lane`, as AgentLanes keys it), before anyone reads it. */
  onToolsListed(upstream: string, tools: readonly unknown[], lane: string): void;
  /** How many connections the upstream has open for agents (upstream sessions or children). */
  onLanes?(upstream: string, open: number): void;
  log: LogSink;
}

export interface UpstreamRequestOptions {
  signal?: CancelSignal;
  onprogress?: (progress: Progress) => void;
  /** The agent the request is forwarded for: under per_agent it goes on that agent's own connection. */
  agent?: LaneAgent;
  /** The upstream answers with an event stream. */
  onstream?: () => void;
}

const SHARED: LaneScope = { kind: 'shared' };

export class Upstream {
  private connection: Connection | undefined;
  private state: UpstreamState = 'starting';
  private since = new Date();
  private restarts = 0;
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  /** The agents' own connections; undefined under isolation: shared. */
  private readonly lanes: AgentLanes | undefined;

  constructor(
    readonly name: string,
    private readonly config: UpstreamConfig,
    private readonly baseDir: string,
    protected readonly hooks: UpstreamHooks,
  ) {
    if (config.isolation !== 'per_agent') return;
    const http = config.http !== undefined;
    this.lanes = new AgentLanes(
      {
        // One HTTP upstream session per agent session; one child per agent identity (a child per session would cost a process per session).
        perSession: http,
        limit: http ? (config.max_sessions ?? DEFAULT_MAX_SESSIONS) : (config.max_processes ?? DEFAULT_MAX_PROCESSES),
        idleTimeoutMs: config.idle_timeout_ms,
        open: (scope, capabilities, key) => this.open(scope, capabilities, key),
        close: (connection) => closeConnection(connection, config.connect_timeout_ms),
        full: () => new GatewayError('upstreamSessionLimit', name),
        unavailable: () => new GatewayError('upstreamUnavailable', name),
        onCount: (open) => hooks.onLanes?.(name, open),
      },
      ALL_CLIENT_CAPABILITIES,
    );
  }

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

  private createTransport(streamed: (id: string) => void): Transport {
    // The schema guarantees exactly one of stdio/http.
    return this.config.stdio ? stdioTransport(this.config.stdio, this.baseDir) : httpTransport(this.name, this.config.http!, streamed);
  }

  /** A connection whose server messages go to `scope`; `lane` is its key. */
  private open(scope: LaneScope, capabilities: ClientCapabilities, lane: string): Promise<Connection> {
    return openConnection(
      this.name,
      (streamed) => this.createTransport(streamed),
      capabilities,
      {
        onServerRequest: (request, signal) => this.hooks.onServerRequest(this.name, request, signal, scope),
        onNotification: (notification) => this.hooks.onNotification(this.name, notification, scope),
        onToolsListed: (tools) => this.hooks.onToolsListed(this.name, tools, lane),
      },
      { connectMs: this.config.connect_timeout_ms, requestMs: this.config.timeout_ms },
    );
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let connection: Connection;
    try {
      // Declared so upstreams may use them; each request is routed to an agent that declared it too.
      connection = await this.open(SHARED, ALL_CLIENT_CAPABILITIES, SHARED_LANE);
    } catch (err) {
      this.scheduleRestart(err instanceof Error ? err.message : 'connect failed');
      throw new GatewayError('upstreamUnavailable', this.name);
    }
    if (this.closed) {
      await connection.client.close();
      return;
    }
    connection.client.onclose = () => {
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
    const laneOptions = { signal: options.signal, onprogress: options.onprogress, onstream: options.onstream, timeoutMs: this.config.timeout_ms };
    const connection = this.connectionFor(options.agent);
    if (connection instanceof Promise) return connection.then((opened) => opened.lane.request(method, params, laneOptions));
    return connection.lane.request(method, params, laneOptions);
  }

  /** The connection that serves `agent`: its own under per_agent (opened when it has none), else the gateway's. */
  private connectionFor(agent: LaneAgent | undefined): Connection | Promise<Connection> {
    if (this.lanes === undefined || agent === undefined) return this.connected();
    if (this.closed) return Promise.reject(new GatewayError('upstreamUnavailable', this.name));
    return this.lanes.ready(agent) ?? this.lanes.get(agent);
  }

  /** The key of the connection that serves `agent`, as the pins know its listings. */
  laneOf(agent: LaneAgent | undefined): string {
    return this.lanes === undefined || agent === undefined ? SHARED_LANE : this.lanes.keyOf(agent);
  }

  /** The tools of the connection that serves `agent`, when that connection is open (no await: the hot path). */
  readyTools(agent: LaneAgent | undefined): LaneTools | undefined {
    return this.lanes === undefined || agent === undefined ? this.connection?.tools : this.lanes.ready(agent)?.tools;
  }

  /** The tools of the connection that serves `agent`, opening it when it has none. */
  async tools(agent: LaneAgent | undefined): Promise<LaneTools> {
    return (await this.connectionFor(agent)).tools;
  }

  /** A notification to the upstream; under per_agent only to the agent's connection, if it has one (a new one starts afresh). */
  async notify(method: string, params: Record<string, unknown> | undefined, agent?: LaneAgent): Promise<void> {
    const connection = this.lanes === undefined || agent === undefined ? this.connected() : this.lanes.ready(agent);
    if (connection === undefined) return;
    try {
      await connection.client.notification({ method, params });
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** An agent session ended: its upstream session, if it has one, ends too. */
  endSession(session: string): void {
    this.lanes?.endSession(session);
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
    await Promise.all([connection?.client.close().catch(() => undefined), this.lanes?.closeAll()]);
  }
}
