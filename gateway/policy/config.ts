/**
 * The `policy` section of portcullis.yaml: where the policy comes from, what
 * a new version must pass before it runs, and the engine's memory bounds.
 *
 *   policy:
 *     dir: policies            # Rego folder, compiled at start and on change
 *     bundle: policy.tar.gz    # or run a bundle (.tar.gz) / .wasm instead
 *     run_tests: true          # a folder's Rego tests must pass before it runs
 *     signing:                 # only bundles signed by one of these keys run
 *       keys:
 *         release: { file: certs/ca.pem }   # PEM public key or certificate
 *     memory_pages: { initial: 16, maximum: 512 }
 */
import { readFileSync } from 'node:fs';
import { locatePolicy, PolicyRejectedError } from './bundle/artifact.js';
import type { PolicyLocation } from './bundle/artifact.js';
import { DEFAULT_MEMORY } from './engine/engine.js';
import type { ReloaderOptions } from './reload.js';
import { verificationKey } from './bundle/signing.js';
import type { VerificationConfig } from './bundle/signing.js';

export interface PolicySigningConfig {
  /** Trusted keys by key id: a PEM public key, certificate or HMAC secret file. */
  keys: Record<string, { file: string; algorithm?: string; scope?: string }>;
  /** The key to use; by default the signature's own `keyid` picks one of `keys`. */
  keyid?: string;
  scope?: string;
}

export interface PolicyConfig {
  /** Folder of Rego policies compiled at start (relative to the config file). */
  dir: string;
  /** A bundle (.tar.gz, ours or `opa build -t wasm`) or .wasm module to run instead of `dir`. */
  bundle?: string;
  /** A new version of a folder replaces the running one only when its Rego tests pass. */
  run_tests: boolean;
  /** When set, only bundles with a valid signature by one of these keys run; folders are refused. */
  signing?: PolicySigningConfig;
  /** WebAssembly memory of the engine, in 64 KiB pages. */
  memory_pages: { initial: number; maximum: number };
}

export const policyConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    dir: { type: 'string', minLength: 1, default: 'policies' },
    bundle: { type: 'string', minLength: 1 },
    run_tests: { type: 'boolean', default: true },
    signing: {
      type: 'object',
      additionalProperties: false,
      required: ['keys'],
      properties: {
        keys: {
          type: 'object',
          minProperties: 1,
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['file'],
            properties: {
              file: { type: 'string', minLength: 1 },
              algorithm: { type: 'string', minLength: 1 },
              scope: { type: 'string' },
            },
          },
        },
        keyid: { type: 'string', minLength: 1 },
        scope: { type: 'string' },
      },
    },
    memory_pages: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        initial: { type: 'integer', minimum: 1, maximum: 65536, default: DEFAULT_MEMORY.initial },
        maximum: { type: 'integer', minimum: 1, maximum: 65536, default: DEFAULT_MEMORY.maximum },
      },
    },
  },
} as const;

function verification(signing: PolicySigningConfig, resolve: (p: string) => string): VerificationConfig {
  const keys: VerificationConfig['keys'] = {};
  for (const [keyid, key] of Object.entries(signing.keys)) {
    let material: string;
    try {
      material = readFileSync(resolve(key.file), 'utf8');
    } catch {
      throw new PolicyRejectedError(`policy.signing key "${keyid}": cannot read ${resolve(key.file)}`);
    }
    keys[keyid] = { ...verificationKey(material, key.algorithm), ...(key.scope === undefined ? {} : { scope: key.scope }) };
  }
  const config: VerificationConfig = { keys };
  if (signing.keyid !== undefined) config.keyid = signing.keyid;
  if (signing.scope !== undefined) config.scope = signing.scope;
  return config;
}

/**
 * Where the gateway's policy comes from and how new versions are checked.
 * `resolve` turns config paths into absolute ones (relative to the config file).
 * Throws PolicyRejectedError for a configuration that cannot be honoured.
 */
export function policySource(config: PolicyConfig, resolve: (p: string) => string): { location: PolicyLocation; options: ReloaderOptions } {
  const location = locatePolicy(resolve(config.bundle ?? config.dir));
  const options: ReloaderOptions = { runTests: config.run_tests, memory: config.memory_pages };
  if (config.signing !== undefined) {
    if (location.kind !== 'bundle') {
      throw new PolicyRejectedError('policy.signing requires policy.bundle: an unsigned folder or module cannot be verified');
    }
    options.verification = verification(config.signing, resolve);
  }
  return { location, options };
}
