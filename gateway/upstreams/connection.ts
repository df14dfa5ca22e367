/**
 * One MCP connection to an upstream: the SDK Client does the handshake and
 * takes the upstream's own requests and notifications; the request lane
 * carries the gateway's requests; its tool list is its own (what one
 * connection lists, another may not). The gateway's shared connection and
 * every agent's own upstream session or child are made the same way.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities, Implementation, JSONRPCNotification, JSONRPCRequest, Result } from '@modelcontextprotocol/sdk/types.js';
import { RequestLane } from './request-lane.js';
import { LaneTools, listPages } from './lane-tools.js';

const GATEWAY_INFO: Implementation = { name: 'portcullis', version: '0.1.0' };

/** Every client capability the gateway can route to an agent that declared it too. */
export const ALL_CLIENT_CAPABILITIES: ClientCapabilities = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };

/** What a connection does with the messages its upstream starts. */
export interface ServerMessageHandlers {
  /** A request from the upstream to the client side; answer or throw. */
  onServerRequest(request: JSONRPCRequest, signal: AbortSignal): Promise<Result>;
  onNotification(notification: JSONRPCNotification): void;
  /** Each listing of the connection's tools, before anyone reads it (the pins check it). */
  onToolsListed(tools: readonly unknown[]): void;
}

export interface Connection {
  client: Client;
  lane: RequestLane;
  transport: Transport;
  tools: LaneTools;
}

export interface ConnectionTimeouts {
  /** Connecting and initializing. */
  connectMs: number;
  /** Each of the gateway's own requests (tool listings). */
  requestMs: number;
}

/** Makes the transport; `streamed` is told which requests an HTTP upstream answers with an event stream. */
export type TransportFactory = (streamed: (id: string) => void) => Transport;

/** Connects and initializes; rejects (with everything closed) when the upstream does not answer in time. */
export async function openConnection(
  name: string,
  makeTransport: TransportFactory,
  capabilities: ClientCapabilities,
  handlers: ServerMessageHandlers,
  timeouts: ConnectionTimeouts,
): Promise<Connection> {
  const client = new Client(GATEWAY_INFO, { capabilities });
  client.fallbackRequestHandler = (request, extra) => handlers.onServerRequest(request as JSONRPCRequest, extra.signal);
  client.fallbackNotificationHandler = async (notification) => {
    // Before anyone hears of the change: a call from then on waits for the new listing.
    if (notification.method === 'notifications/tools/list_changed') tools.changed();
    handlers.onNotification({ jsonrpc: '2.0', ...notification });
  };
  // An HTTP upstream that no longer knows the session (404) needs a new one: the connection closes, its owner opens another.
  client.onerror = (error) => {
    if (error instanceof StreamableHTTPError && error.code === 404) void client.close();
  };
  const transport = makeTransport((id) => lane.streamed(id));
  const lane: RequestLane = new RequestLane(transport, name);
  const tools = new LaneTools(() => listPages((params) => lane.request('tools/list', params, { timeoutMs: timeouts.requestMs }), 'tools'), handlers.onToolsListed);
  try {
    await client.connect(lane, { timeout: timeouts.connectMs });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  return { client, lane, transport, tools };
}

/** Ends an HTTP upstream session (DELETE, waited for at most `timeoutMs`), then closes the connection. */
export async function closeConnection(connection: Connection, timeoutMs: number): Promise<void> {
  const { transport, client } = connection;
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([transport.terminateSession().catch(() => undefined), late]);
    clearTimeout(timer);
  }
  await client.close().catch(() => undefined);
}
