/**
 * Schema fragments for the spine's own sections of portcullis.yaml
 * (listen, tls, log) and their types; the identity and upstream sections
 * live with their owners and are re-exported here.
 * Defaults are filled in by the validator (ajv useDefaults).
 */
import { stringList } from '../util/schema.js';

export interface ListenConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How agents authenticate on this listener: one method, or several side by side (see authMethods). */
  auth: AuthMethod | AuthMethod[];
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
  /**
   * auto: a POST is answered with an event stream when its upstream answered
   * with one or a message must go out before the answer, else with JSON;
   * tools_call: besides, every tools/call is answered with an event stream.
   */
  sse_answers: 'auto' | 'tools_call';
  /**
   * How long a session's event stream whose connection broke waits for the
   * agent to resume it (GET with Last-Event-ID) before its calls are
   * cancelled; 0: streams carry no event ids and a broken one cancels at once.
   */
  resume_grace_ms: number;
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
  /** DNS names this listener is reached by: in a new dev PKI's server certificate, and accepted as Host (with the port). */
  server_names?: string[];
}

/** A DNS name (letters, digits, '-' labels joined by '.'), as a certificate's dNSName carries it. */
export const DNS_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** mtls: a client certificate; jwt: a token the gateway (or `jwt.jwks`) signs; oauth: an access token of `oauth.authorization_servers`. */
export type AuthMethod = 'mtls' | 'jwt' | 'oauth';

const AUTH_METHODS = ['mtls', 'jwt', 'oauth'] as const;

/** The methods a listener accepts: `listen.auth` as a list (the single-string form is one method). */
export function authMethods(listen: Pick<ListenConfig, 'auth'>): readonly AuthMethod[] {
  return typeof listen.auth === 'string' ? [listen.auth] : listen.auth;
}

export type { AgentConfig, JwtConfig, OAuthConfig } from '../identity/config.js';
export { agentsSchema, jwtSchema, oauthSchema } from '../identity/config.js';
export type { HeaderValue, HttpUpstreamConfig, StdioUpstreamConfig, UpstreamConfig } from '../upstreams/config.js';
export { upstreamsSchema } from '../upstreams/config.js';

export const listenSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    host: { type: 'string', minLength: 1, default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 8443 },
    auth: {
      oneOf: [{ enum: AUTH_METHODS }, { type: 'array', minItems: 1, uniqueItems: true, items: { enum: AUTH_METHODS } }],
      default: 'mtls',
    },
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
    sse_answers: { enum: ['auto', 'tools_call'], default: 'auto' },
    resume_grace_ms: { type: 'integer', minimum: 0, maximum: 3_600_000, default: 60_000 },
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
    server_names: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: DNS_NAME.source } },
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
