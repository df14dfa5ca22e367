/** The `state` section of portcullis.yaml: where replicas share what must hold across them. */
import { AGENT_NAME } from '../util/agent-name.js';

export type StateBackend = 'memory' | 'redis';

export interface StateConfig {
  /** memory: this process alone (the embedded default); redis: shared by every replica naming the same url and key_prefix. */
  backend: StateBackend;
  /** redis:// or rediss:// (TLS) URL, without a password (see password_env). */
  url?: string;
  /** Every key and channel starts with it: several gateways can share one Redis. */
  key_prefix: string;
  /** Name of the environment variable holding the Redis password, kept out of the file. */
  password_env?: string;
  /** This replica's name (audit chains, readiness); default $PORTCULLIS_REPLICA_ID, else the host name. */
  replica_id?: string;
}

export const stateConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    backend: { enum: ['memory', 'redis'], default: 'memory' },
    url: { type: 'string', pattern: '^rediss?://' },
    key_prefix: { type: 'string', minLength: 1, maxLength: 64, default: 'portcullis:' },
    password_env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
    replica_id: { type: 'string', pattern: AGENT_NAME.source },
  },
  if: { properties: { backend: { const: 'redis' } }, required: ['backend'] },
  then: { required: ['url'] },
} as const;
