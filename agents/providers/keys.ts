/**
 * API keys: read from the environment or a file when a request is built,
 * held only in the provider client, never in configuration, transcripts or
 * logs. A missing key is a configuration error that says where to put it.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_KEY_ENV } from './config.js';
import type { ProviderConfig } from './config.js';

export class MissingKeyError extends Error {
  constructor(
    readonly provider: string,
    readonly where: string,
  ) {
    super(`provider "${provider}" has no API key: set ${where}`);
    this.name = 'MissingKeyError';
  }
}

/** Where a provider's key is looked for, in words (for errors and `agents run` without providers). */
export function keySource(config: ProviderConfig): string | undefined {
  if (config.api_key_file !== undefined) return `the file ${config.api_key_file}`;
  const env = config.api_key_env ?? DEFAULT_KEY_ENV[config.kind];
  return env === undefined ? undefined : `the environment variable ${env}`;
}

/** The key, or undefined for a provider that needs none; throws MissingKeyError when one is needed and absent. */
export function readKey(name: string, config: ProviderConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (config.api_key_file !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.api_key_file, 'utf8');
    } catch {
      throw new MissingKeyError(name, `a readable key in ${config.api_key_file}`);
    }
    const key = text.split('\n')[0]?.trim() ?? '';
    if (key === '') throw new MissingKeyError(name, `a key in ${config.api_key_file}`);
    return key;
  }
  const variable = config.api_key_env ?? DEFAULT_KEY_ENV[config.kind];
  if (variable === undefined) return undefined;
  const key = env[variable]?.trim();
  if (key === undefined || key === '') throw new MissingKeyError(name, variable);
  return key;
}
