/** The `upstreams` section of portcullis.yaml: stdio and HTTP MCP servers, their types and schema. */
import { stringList } from '../util/schema.js';

/** A header value sent to an HTTP upstream: literal, or read from the gateway's environment. */
export type HeaderValue = string | { env: string; prefix?: string };

export interface StdioUpstreamConfig {
  /** `node` means the Node.js binary running the gateway (no PATH lookup). */
  command: string;
  args: string[];
  /** Working directory (relative to the config file); default: the config file's folder. */
  cwd?: string;
  /** Names of gateway environment variables the child may inherit; nothing else is passed. */
  env_allow: string[];
  /** Literal environment variables for the child. */
  env: Record<string, string>;
  /** Folders created before the first start (e.g. a sandbox). */
  ensure_dirs: string[];
}

export interface HttpUpstreamConfig {
  url: string;
  headers: Record<string, HeaderValue>;
}

export interface UpstreamConfig {
  stdio?: StdioUpstreamConfig;
  http?: HttpUpstreamConfig;
  /** Per-request deadline towards this upstream. */
  timeout_ms: number;
  /** Deadline for starting and initializing the upstream. */
  connect_timeout_ms: number;
  restart: { initial_delay_ms: number; max_delay_ms: number };
  /**
   * per_agent: an HTTP upstream gets one upstream session per agent session,
   * a stdio upstream one child per agent identity; shared: every agent uses
   * the gateway's own connection (server messages then go to an agent only
   * when exactly one call is waiting on the upstream).
   */
  isolation: 'shared' | 'per_agent';
  /** HTTP, per_agent: most upstream sessions open for agents at once (default DEFAULT_MAX_SESSIONS). */
  max_sessions?: number;
  /** stdio, per_agent: most children running for agents at once (default DEFAULT_MAX_PROCESSES). */
  max_processes?: number;
  /** An agent's upstream session or child unused this long is closed. */
  idle_timeout_ms: number;
}

export const DEFAULT_MAX_SESSIONS = 1000;
export const DEFAULT_MAX_PROCESSES = 32;

const headerValueSchema = {
  oneOf: [
    { type: 'string' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['env'],
      properties: { env: { type: 'string', minLength: 1 }, prefix: { type: 'string' } },
    },
  ],
} as const;

export const upstreamsSchema = {
  type: 'object',
  default: {},
  // Server names appear in URLs (/mcp/<server>) and aggregated names (<server>__<tool>).
  propertyNames: { pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    oneOf: [{ required: ['stdio'] }, { required: ['http'] }],
    // Each bound belongs to one kind of upstream: the other kind's key is a mistake, not ignored.
    allOf: [
      { if: { required: ['stdio'] }, then: { not: { required: ['max_sessions'] } } },
      { if: { required: ['http'] }, then: { not: { required: ['max_processes'] } } },
    ],
    properties: {
      stdio: {
        type: 'object',
        additionalProperties: false,
        required: ['command'],
        properties: {
          command: { type: 'string', minLength: 1 },
          args: stringList,
          cwd: { type: 'string', minLength: 1 },
          env_allow: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, default: [] },
          env: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
          ensure_dirs: stringList,
        },
      },
      http: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { type: 'string', pattern: '^https?://' },
          headers: { type: 'object', additionalProperties: headerValueSchema, default: {} },
        },
      },
      timeout_ms: { type: 'integer', minimum: 100, maximum: 3_600_000, default: 60_000 },
      connect_timeout_ms: { type: 'integer', minimum: 100, maximum: 600_000, default: 30_000 },
      restart: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          initial_delay_ms: { type: 'integer', minimum: 10, maximum: 600_000, default: 500 },
          max_delay_ms: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 30_000 },
        },
      },
      isolation: { enum: ['shared', 'per_agent'], default: 'per_agent' },
      max_sessions: { type: 'integer', minimum: 1, maximum: 100_000 },
      max_processes: { type: 'integer', minimum: 1, maximum: 1000 },
      idle_timeout_ms: { type: 'integer', minimum: 1000, maximum: 86_400_000, default: 600_000 },
    },
  },
} as const;

