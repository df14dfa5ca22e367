/**
 * Where the gateway's policy comes from: a source yields versions, each
 * identified cheaply (to skip one already running or already refused) and
 * prepared off to the side (compiled, tested, verified) only when new. The
 * reloader (reload.ts) swaps prepared versions in; sources only read.
 *
 * A file source is a folder, bundle or .wasm on disk, watched for changes;
 * a git source (git.ts) is a branch or tag of a repository, polled.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import path from 'node:path';
import { currentRevision, preparePolicy } from '../bundle/artifact.js';
import type { PolicyLocation, PrepareOptions, PreparedPolicy } from '../bundle/artifact.js';

/** Where a running policy came from, for `portcullis policy status` (no credentials in it). */
export type PolicyOrigin =
  | { kind: PolicyLocation['kind']; path: string }
  | { kind: 'git'; url: string; ref: string; path: string; commit: string };

export interface PolicyVersion {
  /** Identifies this version without preparing it: content hash for files, commit for git. */
  id: string;
  origin: PolicyOrigin;
  /** Compiles, tests and verifies this version; throws PolicyRejectedError with the reason. */
  prepare(options: PrepareOptions): Promise<PreparedPolicy>;
}

export interface PolicySource {
  /** The version there is now (git: after fetching); throws PolicyRejectedError when it cannot be read. */
  latest(): Promise<PolicyVersion>;
  /** Calls `changed` when a new version may be there (file change, poll period). */
  watch(changed: () => void): void;
  close(): void;
}

/** A folder, bundle or module on disk, watched with fs.watch (recursively for a folder). */
export function fileSource(location: PolicyLocation, debounceMs = 200): PolicySource {
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  return {
    latest: async () => ({
      id: currentRevision(location),
      origin: { kind: location.kind, path: location.path },
      prepare: (options: PrepareOptions) => preparePolicy(location, options),
    }),
    watch(changed) {
      if (watcher !== undefined) return;
      const folder = location.kind === 'folder';
      const dir = folder ? location.path : path.dirname(location.path);
      const file = path.basename(location.path);
      watcher = watch(dir, { recursive: folder, persistent: false }, (_type, name) => {
        if (!folder && name !== file) return;
        clearTimeout(debounce);
        debounce = setTimeout(changed, debounceMs);
        debounce.unref();
      });
      // A folder that vanished is seen at the next reload; the watcher's error must not crash the gateway.
      watcher.on('error', () => undefined);
    },
    close() {
      clearTimeout(debounce);
      watcher?.close();
      watcher = undefined;
    },
  };
}
