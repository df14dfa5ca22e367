/** The `holds` section of portcullis.yaml: schema fragment and type. */
import { byAgentName, roleList } from '../util/schema.js';

export interface ApproverConfig {
  roles: string[];
  /** SHA-256 (hex) of the approver's admin token; the token itself is never stored. */
  token_sha256?: string;
}

export interface HoldWebhookConfig {
  /** Receives Slack-compatible JSON ({"text": ...}) for every new hold. */
  url: string;
  timeout_ms: number;
}

/**
 * How a held call meets its agent: `wait` keeps the request open until a
 * person decides; `retry` answers at once with the hold id, and the approval
 * lets the agent's identical retry through once.
 */
export type HoldMode = 'wait' | 'retry';

export interface HoldsConfig {
  mode: HoldMode;
  /** Retry mode: how long an approval (or a denial) answers the agent's identical retry. */
  approval_ttl_s: number;
  /** JSON-lines journal of hold events (relative to the config file); without it outcomes are lost on restart. */
  file?: string;
  /** While a call waits, the agent gets a progress notification this often (when it asked for progress). */
  progress_interval_s: number;
  /** Holds waiting at once; beyond this new holds are refused (the call is denied). */
  max_pending: number;
  /** Upper bound on any decision's hold.timeout_s. */
  max_timeout_s: number;
  /** Finished holds kept in the journal after compaction at start. */
  keep_finished: number;
  /** Admin identities by name: certificate SAN spiffe://<trust-domain>/admin/<name>, or a bearer token. */
  approvers: Record<string, ApproverConfig>;
  webhook?: HoldWebhookConfig;
  /** Public URL of the console, linked from webhook messages. */
  console_url?: string;
}

export const holdsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    mode: { type: 'string', enum: ['wait', 'retry'], default: 'wait' },
    approval_ttl_s: { type: 'integer', minimum: 1, maximum: 604_800, default: 600 },
    file: { type: 'string', minLength: 1 },
    progress_interval_s: { type: 'integer', minimum: 1, maximum: 3600, default: 10 },
    max_pending: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 },
    max_timeout_s: { type: 'integer', minimum: 1, maximum: 604_800, default: 3600 },
    keep_finished: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 10_000 },
    approvers: byAgentName({
      type: 'object',
      additionalProperties: false,
      required: ['roles'],
      properties: {
        roles: roleList,
        token_sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
    } as const),
    webhook: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        timeout_ms: { type: 'integer', minimum: 100, maximum: 60_000, default: 5000 },
      },
    },
    console_url: { type: 'string', pattern: '^https?://' },
  },
} as const;
