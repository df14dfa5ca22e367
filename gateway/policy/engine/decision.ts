/**
 * The one question the gateway asks the policy, and the shape of its answer.
 * Contract between the pipeline (which builds PolicyInput per message) and the
 * policies (entrypoint `portcullis/decision`, package `portcullis`).
 */

export const DECISION_ENTRYPOINT = 'portcullis/decision';

export interface AgentInput {
  /** Stable identity: SAN URI (spiffe://<trust-domain>/agent/<name>), else CN, else JWT `sub`. */
  id: string;
  /** Short agent name (last path segment of the SPIFFE id), used by grants. */
  name: string;
  auth: 'mtls' | 'jwt' | 'oauth';
  /** Roles from configuration (e.g. "approver", "admin"); [] when unknown. */
  roles: string[];
  cert?: { subject: string; serial: string; fingerprint: string };
}

export interface MessageInput {
  /** request: client → server; response: server → client (tool results, server-initiated requests). */
  direction: 'request' | 'response';
  /** JSON-RPC shape of the message. */
  kind: 'request' | 'notification' | 'result' | 'error';
  method: string;
  /** Upstream server name from the configuration. */
  server: string;
  /** For tools/call (and listing checks): the tool name on that server. */
  tool?: string;
  /** tools/call arguments (requests) or the tool result (responses). */
  arguments?: unknown;
  /**
   * tools/call requests: the detector names (sorted, each once) of the secrets
   * the gateway's detector library found in `arguments` after normalising them
   * (percent-, base64- and hex-decoding, NFKC, invisible characters dropped).
   * Absent when none was found.
   */
  secrets?: string[];
  result?: unknown;
  /** resources/read and friends. */
  uri?: string;
  /** prompts/get */
  prompt?: string;
  /**
   * True when the gateway asks "may this agent see this tool/prompt/resource"
   * while filtering a list answer: no arguments are known yet, so argument
   * constraints do not apply; grants do.
   */
  listing?: boolean;
}

export interface ToolInput {
  /** SHA-256 (hex) of the canonical JSON of the pinned definition. */
  definition_hash: string;
  annotations: Record<string, unknown>;
  /** Findings from description inspection, e.g. "hidden-instructions". */
  flags: string[];
}

export interface PolicyInput {
  agent: AgentInput;
  message: MessageInput;
  tool?: ToolInput;
  context: { time_ns: number; session?: string };
}

/** What an expired hold does with the call. */
export type HoldTimeoutOutcome = 'deny' | 'allow';

export interface Decision {
  allow: boolean;
  /** Safe to show the agent; never contains argument values. */
  reasons: string[];
  /**
   * Human approval required before forwarding. `on_timeout` says what happens
   * when nobody decides in time: 'deny' (the default when absent) or 'allow'.
   */
  hold?: { approvers: string[]; timeout_s: number; on_timeout?: HoldTimeoutOutcome };
  /** Which token bucket applies. */
  rate?: { bucket: string; capacity: number; refill_per_s: number };
  /** Detector names or JSON paths to mask (arguments, results, logs). */
  redact?: string[];
  /** Data-classification tags recorded in the audit trail. */
  classification?: string[];
}

/** What the pipeline gets back: the decision plus the policy revision that made it. */
export interface RevisedDecision extends Decision {
  revision: string;
}

/** The policy engine as the pipeline sees it. Never throws: any failure is a deny. */
export interface PolicyDecider {
  decide(input: PolicyInput): RevisedDecision;
  readonly revision: string;
}
