/**
 * The `policy` section of portcullis.yaml: where the policy comes from, what
 * a new version must pass before it runs, the candidate evaluated beside it,
 * and the engine's memory bounds.
 *
 *   policy:
 *     dir: policies            # Rego folder, compiled at start and on change
 *     bundle: policy.tar.gz    # or run a bundle (.tar.gz) / .wasm instead
 *     git:                     # or a folder of a git branch or tag, polled
 *       url: https://git.example/acme/policy.git
 *       ref: main
 *       path: policies
 *       poll_s: 60
 *       signers: [keys/alice.pub]   # only commits signed by these SSH keys run
 *     run_tests: true          # a folder's Rego tests must pass before it runs
 *     signing:                 # only bundles signed by one of these keys run
 *       keys:
 *         release: { file: certs/ca.pem }   # PEM public key or certificate
 *     shadow: { dir: candidate }   # (or bundle, or git) decided beside the live policy, never enforced
 *     status_file: var/policy-status.json
 *     memory_pages: { initial: 16, maximum: 512 }
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { locatePolicy, PolicyRejectedError } from './bundle/artifact.js';
import { DEFAULT_MEMORY } from './engine/engine.js';
import type { ReloaderOptions } from './reload.js';
import { verificationKey } from './bundle/signing.js';
import type { VerificationConfig } from './bundle/signing.js';
import { GitSource } from './source/git.js';
import type { GitSourceConfig } from './source/git.js';
import { fileSource } from './source/source.js';
import type { PolicySource } from './source/source.js';

export interface PolicySigningConfig {
  /** Trusted keys by key id: a PEM public key, certificate or HMAC secret file. */
  keys: Record<string, { file: string; algorithm?: string; scope?: string }>;
  /** The key to use; by default the signature's own `keyid` picks one of `keys`. */
  keyid?: string;
  scope?: string;
}

/** `policy.git` as written: `signers` are SSH public key files (relative to the config file). */
export type PolicyGitConfig = Omit<GitSourceConfig, 'signers'> & { signers?: string[] };

export interface PolicyShadowConfig {
  dir?: string;
  bundle?: string;
  git?: PolicyGitConfig;
  run_tests: boolean;
}

export interface PolicyConfig {
  /** Folder of Rego policies compiled at start (relative to the config file). */
  dir: string;
  /** A bundle (.tar.gz, ours or `opa build -t wasm`) or .wasm module to run instead of `dir`. */
  bundle?: string;
  /** A folder of a git branch or tag to run instead of `dir`, polled every `poll_s` seconds. */
  git?: PolicyGitConfig;
  /** A new version of a folder replaces the running one only when its Rego tests pass. */
  run_tests: boolean;
  /** When set, only bundles with a valid signature by one of these keys run; folders are refused. */
  signing?: PolicySigningConfig;
  /** A candidate policy decided beside the live one on every message; its answers are only compared. */
  shadow?: PolicyShadowConfig;
  /** Where the gateway writes what policy runs, from where and since when (`portcullis policy status`). */
  status_file: string;
  /** WebAssembly memory of the engine, in 64 KiB pages. */
  memory_pages: { initial: number; maximum: number };
}

/** A path inside the repository: relative, no `..`, nothing git could read as an option. */
const REPO_PATH = '^(?![/-])(?!.*(^|/)\\.\\.(/|$))[^\\\\:\\x00-\\x1f]+$';

const gitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1, pattern: '^[^-\\x00-\\x1f]' },
    ref: { type: 'string', default: 'main', pattern: '^(?!-)(?!.*\\.\\.)[A-Za-z0-9._/-]+$' },
    path: { type: 'string', default: '.', pattern: REPO_PATH },
    poll_s: { type: 'integer', minimum: 1, maximum: 86400, default: 60 },
    signers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  },
} as const;

export const policyConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    dir: { type: 'string', minLength: 1, default: 'policies' },
    bundle: { type: 'string', minLength: 1 },
    git: gitSchema,
    run_tests: { type: 'boolean', default: true },
    shadow: {
      type: 'object',
      additionalProperties: false,
      oneOf: [{ required: ['dir'] }, { required: ['bundle'] }, { required: ['git'] }],
      properties: {
        dir: { type: 'string', minLength: 1 },
        bundle: { type: 'string', minLength: 1 },
        git: gitSchema,
        run_tests: { type: 'boolean', default: true },
      },
    },
    status_file: { type: 'string', minLength: 1, default: 'var/policy-status.json' },
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

/** SSH public key lines (`ssh-ed25519 AAAA… comment`): no options, nothing but a key per line. */
const SSH_PUBLIC_KEY = /^(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: [^\r\n]*)?$/;

function signerKeys(files: string[], resolve: (p: string) => string): string[] {
  return files.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch {
      throw new PolicyRejectedError(`policy.git.signers: cannot read ${resolve(file)}`);
    }
    const keys = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
    if (keys.length === 0 || !keys.every((key) => SSH_PUBLIC_KEY.test(key))) {
      throw new PolicyRejectedError(`policy.git.signers: ${resolve(file)} is not a list of SSH public keys`);
    }
    return keys;
  });
}

/** A path or file:// URL is read relative to the config file; other URLs (https, ssh, scp-like) as written. */
function repositoryUrl(url: string, resolve: (p: string) => string): string {
  const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^/]+:/.test(url);
  return remote ? url : path.resolve(resolve(url));
}

function gitSource(config: PolicyGitConfig, resolve: (p: string) => string): GitSource {
  const { signers, ...rest } = config;
  return new GitSource({ ...rest, url: repositoryUrl(config.url, resolve), ...(signers === undefined ? {} : { signers: signerKeys(signers, resolve) }) });
}

export interface ConfiguredSource {
  source: PolicySource;
  options: ReloaderOptions;
}

/**
 * Where the gateway's policy comes from and how new versions are checked.
 * `resolve` turns config paths into absolute ones (relative to the config file).
 * Throws PolicyRejectedError for a configuration that cannot be honoured.
 */
export function policySource(config: PolicyConfig, resolve: (p: string) => string): ConfiguredSource {
  const options: ReloaderOptions = { runTests: config.run_tests, memory: config.memory_pages };
  if (config.git !== undefined) {
    if (config.bundle !== undefined) throw new PolicyRejectedError('policy.git and policy.bundle are two sources: give one');
    if (config.signing !== undefined) throw new PolicyRejectedError('policy.signing verifies bundles; a git source is verified by policy.git.signers');
    return { source: gitSource(config.git, resolve), options };
  }
  const location = locatePolicy(resolve(config.bundle ?? config.dir));
  if (config.signing !== undefined) {
    if (location.kind !== 'bundle') {
      throw new PolicyRejectedError('policy.signing requires policy.bundle: an unsigned folder or module cannot be verified');
    }
    options.verification = verification(config.signing, resolve);
  }
  return { source: fileSource(location), options };
}

/** The candidate of `policy.shadow`, when there is one: always tested like the live policy is configured to be. */
export function shadowSource(config: PolicyConfig, resolve: (p: string) => string): ConfiguredSource | undefined {
  const shadow = config.shadow;
  if (shadow === undefined) return undefined;
  const options: ReloaderOptions = { runTests: shadow.run_tests, memory: config.memory_pages };
  if (shadow.git !== undefined) return { source: gitSource(shadow.git, resolve), options };
  return { source: fileSource(locatePolicy(resolve((shadow.bundle ?? shadow.dir) as string))), options };
}
