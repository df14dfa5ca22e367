/**
 * Schema fragments for the spine's own sections of portcullis.yaml
 * (listen, tls, jwt, agents, upstreams) and their types.
 * Defaults are filled in by the validator (ajv useDefaults).
 */
import { AGENT_NAME } from '../identity/agent-name.js';

export interface ListenConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How agents authenticate on this listener. */
  auth: 'mtls' | 'jwt';
  /** Host header values accepted besides localhost/127.0.0.1/[::1] on the bound port. */
  allowed_hosts: string[];
  /** Origin header values accepted; a request carrying any other Origin is refused. */
  allowed_origins: string[];
  body_limit_bytes: number;
  /** Whole-request deadline (headers and body) for slow or stalled clients. */
  request_timeout_ms: number;
  /** Idle keep-alive connections are closed after this. */
  keep_alive_timeout_ms: number;
  /** stateful: Mcp-Session-Id sessions; stateless: every POST stands alone. */
  sessions: 'stateful' | 'stateless';
  /** Sessions idle longer than this are closed. */
  session_idle_timeout_ms: number;
  /** Open sessions one agent identity may hold; more are refused (429). */
  max_sessions_per_agent: number;
  /** Open sessions on the whole gateway; more are refused (503). */
  max_sessions: number;
  /** Deepest nesting of objects and arrays accepted in a message. */
  max_json_depth: number;
}

export interface TlsConfig {
  /** Where `portcullis certs` keeps the development PKI (relative to the config file). */
  dir: string;
  trust_domain: string;
  /** Explicit files (production CA and server certificate); default: the dev PKI in `dir`. */
  ca?: string;
  cert?: string;
  key?: string;
  crl?: string;
  /** Revoked agent identities and token ids, signed with the server key; default: in `dir` (dev PKI), else none. */
  revoked_identities?: string;
}

export interface JwtConfig {
  issuer: string;
  audience: string;
  /** JWKS file path or https URL; default: the gateway's own server key. */
  jwks?: string;
  /** Largest accepted token age in seconds (tokens also need `exp`). */
  max_ttl_s: number;
}

export interface AgentConfig {
  roles: string[];
}

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
}

const stringList = { type: 'array', items: { type: 'string' }, default: [] } as const;

export const listenSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    host: { type: 'string', minLength: 1, default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 8443 },
    auth: { enum: ['mtls', 'jwt'], default: 'mtls' },
    allowed_hosts: stringList,
    allowed_origins: stringList,
    body_limit_bytes: { type: 'integer', minimum: 1024, maximum: 104_857_600, default: 4_194_304 },
    request_timeout_ms: { type: 'integer', minimum: 100, maximum: 3_600_000, default: 30_000 },
    keep_alive_timeout_ms: { type: 'integer', minimum: 100, maximum: 600_000, default: 5_000 },
    sessions: { enum: ['stateful', 'stateless'], default: 'stateful' },
    session_idle_timeout_ms: { type: 'integer', minimum: 1000, maximum: 86_400_000, default: 1_800_000 },
    max_sessions_per_agent: { type: 'integer', minimum: 1, maximum: 100_000, default: 64 },
    max_sessions: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 10_000 },
    max_json_depth: { type: 'integer', minimum: 8, maximum: 1000, default: 64 },
  },
} as const;

export const tlsSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    dir: { type: 'string', minLength: 1, default: 'certs' },
    trust_domain: { type: 'string', pattern: '^[a-z0-9.-]+$', default: 'portcullis.local' },
    ca: { type: 'string', minLength: 1 },
    cert: { type: 'string', minLength: 1 },
    key: { type: 'string', minLength: 1 },
    crl: { type: 'string', minLength: 1 },
    revoked_identities: { type: 'string', minLength: 1 },
  },
} as const;

export const jwtSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    issuer: { type: 'string', minLength: 1, default: 'portcullis' },
    audience: { type: 'string', minLength: 1, default: 'portcullis' },
    jwks: { type: 'string', minLength: 1 },
    max_ttl_s: { type: 'integer', minimum: 1, maximum: 31_536_000, default: 86_400 },
  },
} as const;

export const agentsSchema = {
  type: 'object',
  default: {},
  propertyNames: { pattern: AGENT_NAME.source },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    properties: { roles: { ...stringList } },
  },
} as const;

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
    },
  },
} as const;

/** The `log` section: the gateway's own (sanitized) log lines on stderr. */
export interface LogConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export const logSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
  },
} as const;
