/**
 * Reads a policy folder: every `.rego` file (tests included, marked by the
 * `_test.rego` suffix) and every data.json / data.yaml, merged into `data` at
 * the path of its directory, as OPA does for a bundle directory. Hidden
 * entries and node_modules are skipped; the walk is bounded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mergeDataAt, parseDataFile } from './bundle.js';

export interface PolicySources {
  /** Absolute folder path. */
  dir: string;
  /** Rego source by path relative to the folder (POSIX separators), sorted. */
  modules: Record<string, string>;
  /** Data files' raw text by relative path, sorted (part of the revision). */
  dataFiles: Record<string, string>;
  data: Record<string, unknown>;
}

const MAX_FILES = 2_000;
const MAX_DEPTH = 16;

export function isTestModule(file: string): boolean {
  return file.endsWith('_test.rego');
}

export function isDataFileName(name: string): boolean {
  return name === 'data.json' || name === 'data.yaml' || name === 'data.yml';
}

export class PolicySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicySourceError';
  }
}

export function readPolicySources(folder: string): PolicySources {
  const dir = path.resolve(folder);
  const found: string[] = [];
  const walk = (rel: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new PolicySourceError(`${dir}: folders nested too deeply`);
    let entries;
    try {
      entries = readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch {
      throw new PolicySourceError(`cannot read policy folder ${path.join(dir, rel)}`);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child, depth + 1);
      else if (entry.isFile() && (entry.name.endsWith('.rego') || isDataFileName(entry.name))) {
        if (found.push(child) > MAX_FILES) throw new PolicySourceError(`${dir}: too many policy files`);
      }
    }
  };
  walk('', 0);
  found.sort();

  const modules: Record<string, string> = {};
  const dataFiles: Record<string, string> = {};
  const data: Record<string, unknown> = {};
  for (const rel of found) {
    const text = readFileSync(path.join(dir, rel), 'utf8');
    if (rel.endsWith('.rego')) {
      modules[rel] = text;
    } else {
      dataFiles[rel] = text;
      mergeDataAt(data, rel.split('/').slice(0, -1), parseDataFile(rel, text), rel);
    }
  }
  if (Object.keys(modules).length === 0) throw new PolicySourceError(`${dir}: no .rego files`);
  return { dir, modules, dataFiles, data };
}

/** The modules that make up the running policy (tests are compiled only by `policy test`). */
export function policyModules(sources: PolicySources): Record<string, string> {
  return Object.fromEntries(Object.entries(sources.modules).filter(([file]) => !isTestModule(file)));
}
