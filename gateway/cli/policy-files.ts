/** The Rego files named on a `policy fmt` / `policy check` command line: files as given, folders read as policy folders. */
import { statSync } from 'node:fs';
import path from 'node:path';
import { readPolicySources } from '../policy/bundle/sources.js';

export const DEFAULT_POLICY_DIR = 'policies';

/** Paths of the `.rego` files under `targets` (default ./policies), each once, in order. */
export function regoFiles(targets: string[]): string[] {
  const files = new Set<string>();
  for (const target of targets.length > 0 ? targets : [DEFAULT_POLICY_DIR]) {
    if (statSync(target).isDirectory()) {
      for (const rel of Object.keys(readPolicySources(target).modules)) files.add(path.join(target, rel));
    } else {
      files.add(target);
    }
  }
  return [...files];
}
