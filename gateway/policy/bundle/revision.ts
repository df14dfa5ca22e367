/**
 * Policy revisions: what identifies exactly which policy made a decision.
 *
 * A folder's revision is `sha256:<hex>` over its Rego sources and data files
 * (paths and contents), plus `+git:<commit>` when the folder is inside a git
 * work tree (and `-dirty` when the folder differs from that commit), so a
 * decision can be traced back to reviewed code.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { PolicySources } from './sources.js';

export function contentRevision(sources: Pick<PolicySources, 'modules' | 'dataFiles'>): string {
  const hash = createHash('sha256');
  const files = [...Object.entries(sources.modules), ...Object.entries(sources.dataFiles)]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [file, text] of files) {
    const body = Buffer.from(text, 'utf8');
    // Length-prefixed so that no two different file sets hash the same.
    hash.update(`${Buffer.byteLength(file)}:${file}:${body.byteLength}:`).update(body);
  }
  return `sha256:${hash.digest('hex')}`;
}

function git(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      timeout: 5_000,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
      maxBuffer: 1024 * 1024,
    }).trim();
  } catch {
    return undefined;
  }
}

/** `<commit>` or `<commit>-dirty` when `dir` is in a git work tree; undefined without git or outside one. */
export function gitRevision(dir: string): string | undefined {
  const commit = git(dir, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  if (commit === undefined || !/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  const status = git(dir, ['status', '--porcelain', '--untracked-files=all', '--', '.']);
  return status === '' ? commit : `${commit}-dirty`;
}

export function folderRevision(sources: PolicySources): string {
  const content = contentRevision(sources);
  const commit = gitRevision(sources.dir);
  return commit === undefined ? content : `${content}+git:${commit}`;
}

/** Revision of a bare module (and its data) when no manifest names one. */
export function bytesRevision(...parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.byteLength}:`).update(part);
  return `sha256:${hash.digest('hex')}`;
}
