/**
 * A gateway client for first-party agents: connect to the gateway's
 * aggregated endpoint with an identity, list the tools the policy lets this
 * identity see, and call them. A refusal is an answer, not an exception: the
 * caller gets the gateway's code and reason (denied, rate limited...) or, for
 * a call held for approval (holds.mode retry), the hold id. Cancelling a call
 * (its AbortSignal) sends notifications/cancelled, which the gateway passes
 * to the upstream.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { ERRORS } from '../errors.js';
import { callIdIn } from '../protocol/call-id.js';
import { identifiedFetch } from './identity.js';
import type { ClientIdentity, IdentifiedFetch } from './identity.js';

export interface ConnectOptions {
  /** The gateway's aggregated MCP endpoint, e.g. https://127.0.0.1:8443/mcp (tools are named `<server>__<tool>`). */
  url: string | URL;
  identity: ClientIdentity;
  /** PEM of the CA that signed the gateway's server certificate (default: the system's roots). */
  ca?: string;
  /** How this client names itself in initialize (seen in the gateway's session). */
  clientName?: string;
}

export interface ToolProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ToolProgress) => void;
  /** Without a word from the gateway for this long the call fails; progress restarts the clock. Default 60 s. */
  idleTimeoutMs?: number;
  /** Upper bound however much progress arrives. Default 1 h (a call may wait for a person in holds.mode wait). */
  maxTimeoutMs?: number;
}

/**
 * How a call ended. `callId` is the gateway's audit call id for it (the
 * `call_id` of its audit records), when the gateway keeps an audit trail and
 * the call reached its decision.
 */
export type CallOutcome =
  /** The upstream answered; `result.isError` marks an error the tool itself reported. */
  | { status: 'ok'; result: CallToolResult; callId: string | undefined }
  /** The gateway (or upstream) refused with a JSON-RPC error: the code and the gateway's reason. */
  | { status: 'refused'; code: number; message: string; callId: string | undefined }
  /** Held for a person's approval (holds.mode retry): the identical call goes through once it is approved. */
  | { status: 'held'; holdId: string; expiresAt: string | undefined; message: string; callId: string | undefined };

/** A call's refusal as data; anything else (cancellation, a lost connection) is thrown on. */
function refusalOf(err: unknown): CallOutcome {
  if (!(err instanceof McpError)) throw err;
  // The SDK reports its own request timeout as an McpError too: that is a failure to get an answer, not a refusal.
  if (err.code === -32001 && /timed out/i.test(err.message)) throw err;
  const callId = callIdIn(err.data);
  if (err.code === ERRORS.holdPending.code) {
    const data = (err.data ?? {}) as { hold_id?: unknown; expires_at?: unknown };
    if (typeof data.hold_id === 'string') {
      const expiresAt = typeof data.expires_at === 'string' ? data.expires_at : undefined;
      return { status: 'held', holdId: data.hold_id, expiresAt, message: err.message, callId };
    }
  }
  return { status: 'refused', code: err.code, message: err.message.replace(/^MCP error -?\d+: /, ''), callId };
}

/** Listing pages read at most; a gateway that never ends its cursor chain is cut off here. */
const MAX_PAGES = 100;

export class GatewayClient {
  private constructor(
    private readonly client: Client,
    private readonly transport: StreamableHTTPClientTransport,
    private readonly link: IdentifiedFetch,
  ) {}

  static async connect(options: ConnectOptions): Promise<GatewayClient> {
    const link = identifiedFetch(options.identity, options.ca);
    const transport = new StreamableHTTPClientTransport(new URL(options.url), { fetch: link.fetch });
    const client = new Client({ name: options.clientName ?? 'portcullis-client', version: '1.0.0' }, { capabilities: {} });
    try {
      await client.connect(transport);
    } catch (err) {
      await link.close();
      throw err;
    }
    return new GatewayClient(client, transport, link);
  }

  /** The gateway's session id for this client (it appears on every audit record of its calls). */
  get sessionId(): string | undefined {
    return this.transport.sessionId;
  }

  /** Every tool the gateway lists to this identity (its filtered tools/list, all pages). */
  async tools(signal?: AbortSignal): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await this.client.listTools(cursor === undefined ? {} : { cursor }, signal === undefined ? {} : { signal });
      tools.push(...answer.tools);
      cursor = answer.nextCursor;
      if (cursor === undefined) return tools;
    }
    return tools;
  }

  /** Calls `<server>__<tool>`; refusals and holds come back as outcomes. */
  async call(name: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<CallOutcome> {
    const onProgress = options.onProgress;
    try {
      const result = await this.client.callTool({ name, arguments: args }, undefined, {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(onProgress === undefined
          ? {}
          : { onprogress: (p: ToolProgress) => onProgress({ progress: p.progress, total: p.total, message: p.message }) }),
        timeout: options.idleTimeoutMs ?? 60_000,
        resetTimeoutOnProgress: true,
        maxTotalTimeout: options.maxTimeoutMs ?? 3_600_000,
      });
      return { status: 'ok', result: result as CallToolResult, callId: callIdIn(result._meta) };
    } catch (err) {
      // The SDK reports an abort as an McpError; the caller gets its own signal's reason.
      if (options.signal?.aborted === true) throw options.signal.reason;
      return refusalOf(err);
    }
  }

  /** Ends the gateway session and closes the connection. */
  async close(): Promise<void> {
    await this.transport.terminateSession().catch(() => undefined);
    await this.client.close();
    await this.link.close();
  }
}
