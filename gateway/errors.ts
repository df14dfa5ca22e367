/**
 * The one registry of JSON-RPC error codes Portcullis answers with, and the
 * safe messages that go with them. Messages never contain argument values or
 * secrets; `detail` (when a kind takes one) is limited to names the gateway
 * itself knows or has sanitised. Other modules add their kinds here.
 */

export interface ErrorKind {
  /** Stable JSON-RPC error code. */
  code: number;
  /** Safe message shown to the agent. */
  message: string;
  /** HTTP status when the error answers a whole HTTP request rather than one message. */
  http: number;
}

export const ERRORS = {
  // JSON-RPC 2.0 standard codes.
  parseError: { code: -32700, message: 'Parse error: body is not valid JSON', http: 400 },
  invalidRequest: { code: -32600, message: 'Invalid Request: not a valid JSON-RPC 2.0 message', http: 400 },
  batchNotSupported: { code: -32600, message: 'Invalid Request: JSON-RPC batches are not allowed in this protocol version', http: 400 },
  batchTooLarge: { code: -32600, message: 'Invalid Request: batch has too many messages', http: 400 },
  nestedTooDeep: { code: -32600, message: 'Invalid Request: JSON nested deeper than the gateway accepts', http: 400 },
  numberOutOfRange: { code: -32600, message: 'Invalid Request: a number is too large to represent', http: 400 },
  methodNotFound: { code: -32601, message: 'Method not found', http: 200 },
  invalidParams: { code: -32602, message: 'Invalid params', http: 200 },
  internalError: { code: -32603, message: 'Internal error', http: 500 },

  // Transport (Streamable HTTP) errors: answered with an HTTP status.
  notAcceptable: { code: -32000, message: 'Not Acceptable: Accept must list application/json and text/event-stream', http: 406 },
  notAcceptableSse: { code: -32000, message: 'Not Acceptable: Accept must list text/event-stream', http: 406 },
  unsupportedMediaType: { code: -32000, message: 'Unsupported Media Type: Content-Type must be application/json', http: 415 },
  bodyTooLarge: { code: -32000, message: 'Payload Too Large: request body exceeds the configured limit', http: 413 },
  methodNotAllowed: { code: -32000, message: 'Method Not Allowed', http: 405 },
  sessionRequired: { code: -32000, message: 'Bad Request: Mcp-Session-Id header is required', http: 400 },
  sessionNotFound: { code: -32001, message: 'Session not found', http: 404 },
  alreadyInitialized: { code: -32600, message: 'Invalid Request: session already initialized', http: 400 },
  unsupportedProtocolVersion: { code: -32000, message: 'Bad Request: unsupported MCP-Protocol-Version', http: 400 },
  streamConflict: { code: -32000, message: 'Conflict: only one event stream is allowed per session', http: 409 },
  unknownEventId: { code: -32000, message: 'Bad Request: Last-Event-ID names no event this session can resume after', http: 400 },
  agentSessionLimit: { code: -32000, message: 'Too Many Requests: this agent has too many open sessions', http: 429 },
  sessionLimit: { code: -32000, message: 'Service Unavailable: the gateway has too many open sessions', http: 503 },
  forbiddenHost: { code: -32000, message: 'Forbidden: Host header not allowed', http: 403 },
  forbiddenOrigin: { code: -32000, message: 'Forbidden: Origin header not allowed', http: 403 },
  unauthenticated: { code: -32000, message: 'Unauthorized: no valid client identity', http: 401 },
  requestTimeout: { code: -32000, message: 'Request Timeout', http: 408 },
  notFound: { code: -32000, message: 'Not Found', http: 404 },

  // Gateway decisions and routing: answered per message.
  policyDenied: { code: -32010, message: 'Denied by policy', http: 200 },
  unknownServer: { code: -32011, message: 'Unknown MCP server', http: 404 },
  upstreamUnavailable: { code: -32012, message: 'Upstream MCP server unavailable', http: 200 },
  upstreamTimeout: { code: -32013, message: 'Upstream MCP server timed out', http: 200 },
  unknownName: { code: -32014, message: 'Unknown tool, prompt or resource on the aggregated endpoint', http: 200 },
  clientUnreachable: { code: -32015, message: 'The agent cannot take this server request', http: 200 },
  cancelled: { code: -32016, message: 'Request cancelled', http: 200 },
  upstreamSessionLimit: { code: -32017, message: 'Upstream MCP server has no room for another agent session', http: 200 },

  // Enforcement controls (rate limits, holds, tool pinning, response inspection): answered per message.
  rateLimited: { code: -32030, message: 'Rate limit exceeded', http: 429 },
  holdDenied: { code: -32031, message: 'Denied by an approver', http: 200 },
  holdExpired: { code: -32032, message: 'Not approved before the hold timed out', http: 200 },
  holdUnavailable: { code: -32033, message: 'Too many calls are waiting for approval', http: 200 },
  approvalVoid: { code: -32034, message: 'Approval no longer valid: the policy changed while the call was held', http: 200 },
  toolQuarantined: { code: -32035, message: 'Tool definition changed: quarantined until an operator approves it', http: 200 },
  toolNotListed: { code: -32036, message: 'Tool is not in the upstream tool list', http: 200 },
  responseBlocked: { code: -32037, message: 'Result withheld by policy', http: 200 },
  holdPending: {
    code: -32038,
    message: 'Held for human approval: once a person approves it, retry this identical call (same arguments) and it goes through once',
    http: 200,
  },

  // Evidence: no call goes through unrecorded.
  auditUnavailable: { code: -32040, message: 'Audit trail unavailable: call refused', http: 503 },
  // Replicas: a call whose rate limit or hold lives in shared state (Redis) is refused while it cannot be reached.
  stateUnavailable: { code: -32041, message: 'Shared state unavailable: call refused', http: 503 },

  // The local bridge (`portcullis connect`, gateway/bridge): answered to the client it serves.
  gatewayUnreachable: { code: -32050, message: 'Portcullis gateway not reachable', http: 502 },

  // The built-in orchestrator's runs (admin API /admin/runs): answered with an HTTP status.
  orchestratorOff: { code: -32060, message: 'No orchestrator is configured: portcullis.yaml has no orchestrator section', http: 404 },
  runNotFound: { code: -32061, message: 'No such run', http: 404 },
  runAgentRefused: { code: -32062, message: 'This agent cannot lead a run', http: 400 },
  runNoProvider: { code: -32063, message: 'No model provider is usable for this run', http: 409 },
  runLimit: { code: -32064, message: 'Too many runs at once', http: 429 },
  runEnded: { code: -32065, message: 'The run has already ended', http: 409 },
} as const satisfies Record<string, ErrorKind>;

export type ErrorName = keyof typeof ERRORS;

export interface JsonRpcErrorBody {
  code: number;
  message: string;
  data?: unknown;
}

/** Longest detail ever appended to a message: keeps echoed names bounded. */
const MAX_DETAIL = 80;

/** Keeps a detail printable and short; it may echo a name the agent sent. */
function safeDetail(detail: string): string {
  const printable = detail.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > MAX_DETAIL ? `${printable.slice(0, MAX_DETAIL)}…` : printable;
}

/** The JSON-RPC `error` member for a registered kind, with an optional safe detail. */
export function rpcError(name: ErrorName, detail?: string, data?: unknown): JsonRpcErrorBody {
  const kind = ERRORS[name];
  const message = detail === undefined ? kind.message : `${kind.message}: ${safeDetail(detail)}`;
  return data === undefined ? { code: kind.code, message } : { code: kind.code, message, data };
}

/** A thrown error carrying a registered kind, so any layer can fail with a safe answer. */
export class GatewayError extends Error {
  readonly kind: ErrorName;
  readonly detail: string | undefined;
  readonly data: unknown;

  constructor(kind: ErrorName, detail?: string, data?: unknown) {
    super(rpcError(kind, detail).message);
    this.name = 'GatewayError';
    this.kind = kind;
    this.detail = detail;
    this.data = data;
  }

  get body(): JsonRpcErrorBody {
    return rpcError(this.kind, this.detail, this.data);
  }

  /** JSON-RPC code; also what the MCP SDK reads when this error answers an upstream's request. */
  get code(): number {
    return ERRORS[this.kind].code;
  }

  get http(): number {
    return ERRORS[this.kind].http;
  }
}
