/**
 * Where a policy comes from and how it becomes a running engine: a policy
 * folder (Rego + data, compiled here, optionally with its Rego tests), an OPA
 * bundle (.tar.gz, ours or from `opa build -t wasm`, signature-checked when
 * keys are configured) or a bare .wasm module.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { bundleFiles, bundleWasm, readBundle, writeBundle } from './bundle.js';
import { compile } from '../compile.js';
import { DECISION_ENTRYPOINT } from '../engine/decision.js';
import { PolicyEngine } from '../engine/engine.js';
import type { EngineFailure, MemoryBounds } from '../engine/engine.js';
import { runRegoTests } from '../rego-test.js';
import type { RegoTestReport } from '../rego-test.js';
import { bytesRevision, contentRevision, folderRevision } from './revision.js';
import { verifyBundleFiles } from './signing.js';
import type { VerificationConfig } from './signing.js';
import { policyModules, readPolicySources } from './sources.js';
import type { PolicySources } from './sources.js';

export type PolicyLocation =
  | { kind: 'folder'; path: string }
  | { kind: 'bundle'; path: string }
  | { kind: 'wasm'; path: string };

/** A refused policy; `message` is safe to log and to show on the readiness endpoint. */
export class PolicyRejectedError extends Error {
  constructor(message: string, readonly revision?: string) {
    super(message);
    this.name = 'PolicyRejectedError';
  }
}

export function locatePolicy(p: string): PolicyLocation {
  const resolved = path.resolve(p);
  let isDir: boolean;
  try {
    isDir = statSync(resolved).isDirectory();
  } catch {
    throw new PolicyRejectedError(`policy not found: ${resolved}`);
  }
  if (isDir) return { kind: 'folder', path: resolved };
  if (resolved.endsWith('.tar.gz') || resolved.endsWith('.tgz')) return { kind: 'bundle', path: resolved };
  if (resolved.endsWith('.wasm')) return { kind: 'wasm', path: resolved };
  throw new PolicyRejectedError(`not a policy folder, bundle (.tar.gz) or .wasm: ${resolved}`);
}

export interface PrepareOptions {
  /** Entrypoints to compile (folders); the first is the engine's decision entrypoint. */
  entrypoints?: string[];
  /** Bundles must carry a valid signature by one of these keys. */
  verification?: VerificationConfig;
  /** Folders: run the Rego tests and refuse the policy when one fails. */
  runTests?: boolean;
  memory?: MemoryBounds;
  onFailure?: (failure: EngineFailure) => void;
  /** Folders exported from this git commit: the revision names it (the folder itself is no work tree). */
  commit?: string;
}

export interface PreparedPolicy {
  engine: PolicyEngine;
  revision: string;
  location: PolicyLocation;
  tests?: RegoTestReport;
}

/** Cheap identity of what is on disk now (no compile), to skip reloads of an unchanged policy. */
export function currentRevision(location: PolicyLocation): string {
  if (location.kind === 'folder') return folderRevision(readPolicySources(location.path));
  return bytesRevision(readFileSync(location.path));
}

function failedTests(report: RegoTestReport): string | undefined {
  const bad = report.results.filter((r) => r.outcome === 'fail' || r.outcome === 'error');
  if (bad.length === 0) return undefined;
  const names = bad.slice(0, 5).map((r) => r.name).join(', ');
  return `${bad.length} Rego test(s) failed: ${names}${bad.length > 5 ? ', ...' : ''}`;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : 'unknown error';
}

/** Compiles a folder's policy (tests excluded) to WebAssembly. */
export function compileFolder(sources: PolicySources, entrypoints: string[]): Uint8Array {
  return compile({ modules: policyModules(sources), entrypoints });
}

/** Loads a policy off to the side; throws PolicyRejectedError with the reason. */
export async function preparePolicy(location: PolicyLocation, options: PrepareOptions = {}): Promise<PreparedPolicy> {
  const entrypoints = options.entrypoints ?? [DECISION_ENTRYPOINT];
  const entrypoint = entrypoints[0] ?? DECISION_ENTRYPOINT;
  const engineOptions = { entrypoint, memory: options.memory, onFailure: options.onFailure };

  if (location.kind === 'folder') {
    let sources: PolicySources;
    try {
      sources = readPolicySources(location.path);
    } catch (err) {
      throw new PolicyRejectedError(reason(err));
    }
    const revision = options.commit === undefined ? folderRevision(sources) : `${contentRevision(sources)}+git:${options.commit}`;
    try {
      const engine = new PolicyEngine(compileFolder(sources, entrypoints), { ...engineOptions, revision, data: sources.data });
      if (!options.runTests) return { engine, revision, location };
      const tests = runRegoTests(sources);
      const failed = failedTests(tests);
      if (failed !== undefined) throw new PolicyRejectedError(failed, revision);
      return { engine, revision, location, tests };
    } catch (err) {
      if (err instanceof PolicyRejectedError) throw err;
      throw new PolicyRejectedError(reason(err), revision);
    }
  }

  const bytes = readFileSync(location.path);
  if (location.kind === 'wasm') {
    const revision = bytesRevision(bytes);
    try {
      return { engine: new PolicyEngine(bytes, { ...engineOptions, revision }), revision, location };
    } catch (err) {
      throw new PolicyRejectedError(reason(err), revision);
    }
  }

  const fallbackRevision = bytesRevision(bytes);
  try {
    const bundle = readBundle(bytes);
    if (options.verification !== undefined) await verifyBundleFiles(bundle.files, options.verification);
    const revision = bundle.manifest.revision || fallbackRevision;
    const engine = new PolicyEngine(bundleWasm(bundle, entrypoint), { ...engineOptions, revision, data: bundle.data });
    return { engine, revision, location };
  } catch (err) {
    throw new PolicyRejectedError(reason(err), fallbackRevision);
  }
}

/** A bundle archive of a policy folder, its revision in the manifest. */
export function buildFolderBundle(folder: string, entrypoints: string[]): { archive: Uint8Array; revision: string } {
  const sources = readPolicySources(folder);
  const revision = folderRevision(sources);
  const wasm = compileFolder(sources, entrypoints);
  return { archive: writeBundle(bundleFiles({ wasm, data: sources.data, revision, entrypoints })), revision };
}

