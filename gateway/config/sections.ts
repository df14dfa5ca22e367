/**
 * The sections of portcullis.yaml: one line per section, each a schema
 * fragment owned by the module that reads it. Add a section by importing its
 * fragment and type and adding one line to SECTIONS and PortcullisConfig.
 */
import type { RateLimitConfig } from '../ratelimit/config.js';
import { rateLimitConfigSchema } from '../ratelimit/config.js';
import type { HoldsConfig } from '../holds/config.js';
import { holdsConfigSchema } from '../holds/config.js';
import type { PinningConfig } from '../pinning/config.js';
import { pinningConfigSchema } from '../pinning/config.js';
import { auditConfigSchema, type AuditConfig } from '../audit/index.js';
import { metricsConfigSchema, type MetricsConfig } from '../metrics/index.js';
import {
  agentsSchema,
  jwtSchema,
  listenSchema,
  oauthSchema,
  logSchema,
  tlsSchema,
  upstreamsSchema,
} from './spine-schema.js';
import type { AgentConfig, JwtConfig, ListenConfig, LogConfig, OAuthConfig, TlsConfig, UpstreamConfig } from './spine-schema.js';
import type { PolicyConfig } from '../policy/config.js';
import { policyConfigSchema } from '../policy/config.js';
import { stateConfigSchema, type StateConfig } from '../state/config.js';
import type { OrchestratorConfig } from './orchestrator-schema.js';
import { orchestratorConfigSchema } from './orchestrator-schema.js';
import { reportsConfigSchema, type ReportsConfig } from './reports-schema.js';

export const SECTIONS = {
  listen: listenSchema,
  tls: tlsSchema,
  jwt: jwtSchema,
  oauth: oauthSchema,
  agents: agentsSchema,
  policy: policyConfigSchema,
  upstreams: upstreamsSchema,
  rate_limits: rateLimitConfigSchema,
  holds: holdsConfigSchema,
  pinning: pinningConfigSchema,
  audit: auditConfigSchema,
  metrics: { ...metricsConfigSchema, default: {} },
  log: logSchema,
  state: stateConfigSchema,
  orchestrator: orchestratorConfigSchema,
  reports: reportsConfigSchema,
} as const;

/** The validated, defaulted, frozen configuration. */
export interface PortcullisConfig {
  listen: ListenConfig;
  tls: TlsConfig;
  jwt: JwtConfig;
  /** MCP authorization (OAuth access tokens); required when listen.auth names oauth. */
  oauth?: OAuthConfig;
  agents: Record<string, AgentConfig>;
  policy: PolicyConfig;
  upstreams: Record<string, UpstreamConfig>;
  rate_limits?: RateLimitConfig;
  holds: HoldsConfig;
  pinning: PinningConfig;
  /** Without this section nothing is audited (the gateway warns at start). */
  audit?: AuditConfig;
  metrics: MetricsConfig;
  log: LogConfig;
  /** Where replicas share rate limits, holds and revocations (docs/deploy.md); memory by default. */
  state: StateConfig;
  /** With this section `portcullis start` hosts the built-in orchestrator (docs/agents.md). */
  orchestrator?: OrchestratorConfig;
  /** With this section `portcullis start` runs the compliance reporters on a schedule (docs/compliance.md). */
  reports?: ReportsConfig;
  /** Absolute folder of the config file: relative paths in it resolve from here. */
  base_dir: string;
}

/** The whole-document schema: unknown top-level keys are rejected like any other. */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: SECTIONS,
} as const;
