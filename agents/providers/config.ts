/**
 * The orchestrator's providers: which endpoints exist, where their keys come
 * from (an environment variable or a file, never the configuration itself),
 * and how hard to try before failing over. Validated against a schema that
 * refuses unknown keys.
 */
import { Ajv } from 'ajv';
import { PROVIDER_NAME } from '../catalog/schema.js';

export type ProviderKind = 'anthropic' | 'openai' | 'openai-compatible';

export interface ProviderConfig {
  kind: ProviderKind;
  /** API base URL (e.g. https://api.anthropic.com/v1, http://127.0.0.1:11434/v1 for Ollama). Default: the provider's own. */
  base_url?: string;
  /** Name of the environment variable holding the API key. */
  api_key_env?: string;
  /** File holding the API key (its first line). */
  api_key_file?: string;
  /** Stream answers (SSE) rather than wait for one JSON body. */
  stream: boolean;
  /** Longest answer asked for, in tokens. */
  max_output_tokens: number;
  /** One request's time limit. */
  timeout_ms: number;
  /** Retries on this provider before failing over to the next model. */
  retries: number;
  /** First backoff; doubled per retry (with jitter), capped by max_backoff_ms; a Retry-After header wins when given. */
  backoff_ms: number;
  max_backoff_ms: number;
  /** Consecutive failed requests that open the circuit; it stays open for cooldown_s. */
  breaker_failures: number;
  breaker_cooldown_s: number;
}

export type ProvidersConfig = Record<string, ProviderConfig>;

export const PROVIDERS_SCHEMA = {
  type: 'object',
  propertyNames: { pattern: PROVIDER_NAME },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    required: ['kind'],
    properties: {
      kind: { type: 'string', enum: ['anthropic', 'openai', 'openai-compatible'] },
      base_url: { type: 'string', pattern: '^https?://' },
      api_key_env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
      api_key_file: { type: 'string', minLength: 1 },
      stream: { type: 'boolean', default: true },
      max_output_tokens: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 4096 },
      timeout_ms: { type: 'integer', minimum: 100, maximum: 600_000, default: 120_000 },
      retries: { type: 'integer', minimum: 0, maximum: 10, default: 2 },
      backoff_ms: { type: 'integer', minimum: 0, maximum: 60_000, default: 500 },
      max_backoff_ms: { type: 'integer', minimum: 0, maximum: 300_000, default: 30_000 },
      breaker_failures: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
      breaker_cooldown_s: { type: 'integer', minimum: 1, maximum: 86_400, default: 60 },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true, strictTypes: false });
const validate = ajv.compile(PROVIDERS_SCHEMA);

/** The providers section, validated, defaults filled (the input is not modified). */
export function providersFromObject(document: unknown): ProvidersConfig {
  const copy: unknown = structuredClone(document ?? {});
  if (!validate(copy)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath.split('/').slice(1).join('.') || 'providers';
    const extra = (first?.params as { additionalProperty?: unknown } | undefined)?.additionalProperty;
    throw new Error(`providers: ${typeof extra === 'string' ? `unknown key "${where}.${extra}"` : `"${where}" ${first?.message ?? 'is invalid'}`}`);
  }
  return copy as ProvidersConfig;
}

/** The environment variable a provider's key is read from when none is named. */
export const DEFAULT_KEY_ENV: Record<ProviderKind, string | undefined> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  // Local servers (Ollama, vLLM, llama.cpp) often take no key at all.
  'openai-compatible': undefined,
};
