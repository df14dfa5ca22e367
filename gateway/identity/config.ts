/**
 * The identity sections of portcullis.yaml: `jwt` (bearer tokens) and
 * `agents` (the roles each agent name is given), their types and schemas.
 */
import { byAgentName, roleList } from '../util/schema.js';

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

