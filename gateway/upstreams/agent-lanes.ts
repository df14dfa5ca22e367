/**
 * The connections one upstream keeps for agents (isolation: per_agent): on
 * HTTP one upstream session per agent session, on stdio one child per agent
 * identity. Opened on first use, bounded, closed when unused for the idle
 * timeout and, for a session's own, when the agent session ends. What an
 * upstream starts on one of them (requests, logging, progress, resource
 * updates) belongs to its agents alone: the scope says whose it is.
 */
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { GatewayError } from '../errors.js';
import type { Params } from '../protocol/jsonrpc.js';
import type { Connection } from './connection.js';

/** The agent a forwarded message comes from, as the upstream side needs to know it. */
export interface LaneAgent {
  /** The agent session (stateful endpoints); a stateless request has none. */
  session: string | undefined;
  auth: string;
  id: string;
  /** What the agent declared in initialize. */
  capabilities: Params;
}

/** Whose messages a connection carries. */
export type LaneScope =
  /** The gateway's own connection, shared by every agent. */
  | { kind: 'shared' }
  /** One agent session's upstream session. */
  | { kind: 'session'; session: string }
  /** Every session of one agent identity. */
  | { kind: 'agent'; auth: string; id: string };

/** The key of the gateway's own connection; an agent's lane is keyed by AgentLanes.keyOf. Pins know each listing by its lane's key. */
export const SHARED_LANE = 'shared';

export interface AgentLanesOptions {
  /** session: a lane per agent session (HTTP); agent: per agent identity (stdio, and HTTP requests without a session). */
  perSession: boolean;
  limit: number;
  idleTimeoutMs: number;
  /** Opens a connection whose server messages go to `scope`; `key` is its lane's. */
  open(scope: LaneScope, capabilities: ClientCapabilities, key: string): Promise<Connection>;
  close(connection: Connection): Promise<void>;
  /** The refusal when `limit` lanes are open. */
  full(): GatewayError;
  unavailable(): GatewayError;
  onCount(open: number): void;
}

interface Lane {
  opening: Promise<Connection>;
  connection?: Connection;
  lastUsed: number;
}

/** The client capabilities an agent's upstream session declares: those the gateway can route, if the agent declared them. */
function routableCapabilities(declared: Params): ClientCapabilities {
  const capabilities: ClientCapabilities = {};
  if (declared.sampling !== undefined) capabilities.sampling = {};
  if (declared.elicitation !== undefined) capabilities.elicitation = { form: {}, url: {} };
  if (declared.roots !== undefined) capabilities.roots = { listChanged: true };
  return capabilities;
}

export class AgentLanes {
  private readonly lanes = new Map<string, Lane>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly options: AgentLanesOptions,
    /** What a lane per identity declares (its sessions may differ: each server request is checked against its session's). */
    private readonly identityCapabilities: ClientCapabilities,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(options.idleTimeoutMs, 60_000));
    this.sweeper.unref();
  }

  /** The key of the lane that carries `agent`'s messages. */
  keyOf(agent: LaneAgent): string {
    return this.options.perSession && agent.session !== undefined ? `s:${agent.session}` : `a:${agent.auth}:${agent.id}`;
  }

  private scopeOf(agent: LaneAgent): LaneScope {
    if (this.options.perSession && agent.session !== undefined) return { kind: 'session', session: agent.session };
    return { kind: 'agent', auth: agent.auth, id: agent.id };
  }

  /** The agent's open connection, without waiting: the hot path once it is open. */
  ready(agent: LaneAgent): Connection | undefined {
    const lane = this.lanes.get(this.keyOf(agent));
    if (lane?.connection === undefined) return undefined;
    lane.lastUsed = Date.now();
    return lane.connection;
  }

  /** The agent's connection, opened (and initialized) when it has none. */
  get(agent: LaneAgent): Promise<Connection> {
    const key = this.keyOf(agent);
    const existing = this.lanes.get(key);
    if (existing !== undefined) {
      existing.lastUsed = Date.now();
      return existing.opening;
    }
    if (this.lanes.size >= this.options.limit) return Promise.reject(this.options.full());
    const scope = this.scopeOf(agent);
    const capabilities = scope.kind === 'session' ? routableCapabilities(agent.capabilities) : this.identityCapabilities;
    const lane: Lane = { opening: this.options.open(scope, capabilities, key), lastUsed: Date.now() };
    this.lanes.set(key, lane);
    this.options.onCount(this.lanes.size);
    lane.opening = lane.opening.then(
      (connection) => {
        if (this.lanes.get(key) !== lane) {
          // Closed while it was opening (session ended, gateway closing).
          void this.options.close(connection);
          throw this.options.unavailable();
        }
        lane.connection = connection;
        connection.client.onclose = () => this.forget(key, lane);
        return connection;
      },
      () => {
        this.forget(key, lane);
        throw this.options.unavailable();
      },
    );
    return lane.opening;
  }

  /** Closes the lane of one agent session (the session ended). */
  endSession(session: string): void {
    this.closeLane(`s:${session}`);
  }

  private forget(key: string, lane: Lane): void {
    if (this.lanes.get(key) !== lane) return;
    this.lanes.delete(key);
    this.options.onCount(this.lanes.size);
  }

  private closeLane(key: string): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    this.forget(key, lane);
    if (lane.connection !== undefined) void this.options.close(lane.connection);
  }

  /** Closes lanes unused for the idle timeout; a lane with a call in flight is in use. */
  private sweep(): void {
    const cutoff = Date.now() - this.options.idleTimeoutMs;
    for (const [key, lane] of [...this.lanes]) {
      if (lane.connection !== undefined && lane.lastUsed < cutoff && lane.connection.lane.idle) this.closeLane(key);
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const open = [...this.lanes.values()];
    this.lanes.clear();
    this.options.onCount(0);
    await Promise.all(open.map((lane) => lane.opening.then((connection) => this.options.close(connection), () => undefined)));
  }
}
