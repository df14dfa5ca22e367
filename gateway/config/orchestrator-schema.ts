/**
 * The `orchestrator` section of portcullis.yaml: with it, `portcullis start`
 * hosts the built-in orchestrator (agents/), whose workers reach this
 * gateway's own listener over mTLS like any outside agent.
 *
 * A plain JSON Schema fragment, importing nothing: the configuration layer
 * validates the section's own keys here without loading agents/. Each entry
 * of `providers` belongs to agents/providers/config.ts, which validates it
 * (unknown keys refused, defaults filled) when the orchestrator is set up,
 * before the listener opens.
 */

export interface OrchestratorConfig {
  /** LLM providers by name, as agents/providers/config.ts reads them. */
  providers: Record<string, Record<string, unknown>>;
  /** Folder of agent definitions; default: the ones shipped in agents/definitions. */
  definitions?: string;
  /** Transcripts, one JSONL file per run (relative to the config file). */
  runs_dir: string;
  /** Workers of one run at once. */
  concurrency: number;
  /** Runs at once; beyond this a new run is refused. */
  max_runs: number;
  /** Lifetime of each worker's client certificate. */
  identity_ttl_s: number;
  /** CA private key that signs worker certificates; default: the development PKI's (tls.dir). Required when tls names its own files. */
  ca_key?: string;
  /** How often a held call is asked again to see whether it was approved. */
  hold_poll_ms: number;
}

/** The providers the shipped definitions name, keys from their default variables (ANTHROPIC_API_KEY, OPENAI_API_KEY). */
export const DEFAULT_PROVIDERS = { anthropic: { kind: 'anthropic' }, openai: { kind: 'openai' } } as const;

/** The section when portcullis.yaml has none (`portcullis agents run` against any gateway). */
export const ORCHESTRATOR_DEFAULTS: OrchestratorConfig = {
  providers: DEFAULT_PROVIDERS,
  runs_dir: 'var/runs',
  concurrency: 4,
  max_runs: 4,
  identity_ttl_s: 3600,
  hold_poll_ms: 1000,
};

export const orchestratorConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    providers: { type: 'object', default: DEFAULT_PROVIDERS, additionalProperties: { type: 'object' } },
    definitions: { type: 'string', minLength: 1 },
    runs_dir: { type: 'string', minLength: 1, default: ORCHESTRATOR_DEFAULTS.runs_dir },
    concurrency: { type: 'integer', minimum: 1, maximum: 64, default: ORCHESTRATOR_DEFAULTS.concurrency },
    max_runs: { type: 'integer', minimum: 1, maximum: 100, default: ORCHESTRATOR_DEFAULTS.max_runs },
    identity_ttl_s: { type: 'integer', minimum: 60, maximum: 86_400, default: ORCHESTRATOR_DEFAULTS.identity_ttl_s },
    ca_key: { type: 'string', minLength: 1 },
    hold_poll_ms: { type: 'integer', minimum: 50, maximum: 60_000, default: ORCHESTRATOR_DEFAULTS.hold_poll_ms },
  },
} as const;
