/**
 * The identity sections of portcullis.yaml: `jwt` (bearer tokens),
 * `oauth` (MCP authorization: access tokens from authorization servers) and
 * `agents` (the roles each agent name is given), their types and schemas.
 */
import { AGENT_NAME } from '../util/agent-name.js';
import { byAgentName, roleList, stringList } from '../util/schema.js';

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

export const agentsSchema = byAgentName({
  type: 'object',
  additionalProperties: false,
  properties: { roles: { ...roleList, default: [] } },
} as const);


/** How an access token names its agent: a claim's value, else its scopes. */
export interface OAuthIdentityConfig {
  /** The claim whose value is looked up in `agents` (sub, client_id, email, ...). */
  claim: string;
  /** Claim value -> agent name. */
  agents: Record<string, string>;
  /** Scope -> agent name, for tokens whose claim value is not in `agents`. */
  scopes: Record<string, string>;
}

export interface OAuthConfig {
  /** Issuer identifiers of the authorization servers whose access tokens are accepted (RFC 8414). */
  authorization_servers: string[];
  /** This gateway's canonical resource URL (RFC 8707, RFC 9728); default: its own URL with /mcp. */
  resource?: string;
  /** The `aud` tokens must carry; default: `resource`. */
  audience?: string;
  /** The issuers' key set; default: discovered from each authorization server's metadata. */
  jwks_uri?: string;
  /** Scopes named in the metadata and in 401 challenges (what clients ask the authorization server for). */
  scopes_supported: string[];
  identity: OAuthIdentityConfig;
}

/** https, or http on a loopback address (a development authorization server on this machine). */
const SECURE_URL = '^(https://[^\\s]+|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]{1,5})?(/[^\\s]*)?)$';

const agentNameMap = { type: 'object', default: {}, additionalProperties: { type: 'string', pattern: AGENT_NAME.source } } as const;

export const oauthSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['authorization_servers'],
  properties: {
    authorization_servers: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: SECURE_URL } },
    resource: { type: 'string', pattern: '^https://[^\\s#]+$' },
    audience: { type: 'string', minLength: 1 },
    jwks_uri: { type: 'string', pattern: SECURE_URL },
    scopes_supported: { ...stringList, items: { type: 'string', pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' } },
    identity: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        claim: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$', default: 'sub' },
        agents: agentNameMap,
        scopes: agentNameMap,
      },
    },
  },
} as const;
