/**
 * A policy kept in git: `ref` (a branch or tag) of the repository at `url`
 * (a path, file://, https:// or ssh), the policy folder at `path` inside it.
 *
 * Each poll fetches the ref (shallow) into a private bare repository; a new
 * commit is checked (signed by a listed SSH key, when signers are given),
 * its folder exported (`git archive`, regular files only) to a fresh
 * directory and prepared exactly like a policy folder (compiled, Rego tests
 * run), then the directory is removed. The revision names the commit:
 * `sha256:<content hash>+git:<commit>`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { x as extract } from 'tar';
import { preparePolicy, PolicyRejectedError } from '../bundle/artifact.js';
import type { PrepareOptions } from '../bundle/artifact.js';
import { GitError, runGit } from './git-command.js';
import type { PolicySource, PolicyVersion } from './source.js';

export interface GitSourceConfig {
  url: string;
  ref: string;
  /** The policy folder inside the repository ('.' for its root). */
  path: string;
  poll_s: number;
  /** SSH public keys (one `ssh-ed25519 AAAA… comment` line each): only commits signed by one of them run. */
  signers?: string[];
}

/** Bounds the exported policy folder, as bundles are bounded. */
const MAX_ARCHIVE_BYTES = 128 * 1024 * 1024;
const COMMIT = /^[0-9a-f]{40,64}$/;

/** A URL as shown in status and errors: any `user:password@` taken out. */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
}

function rejected(err: unknown, revision?: string): PolicyRejectedError {
  const message = err instanceof Error ? err.message : 'unknown error';
  return new PolicyRejectedError(withoutCredentials(message), revision);
}

export class GitSource implements PolicySource {
  private readonly home = mkdtempSync(path.join(tmpdir(), 'portcullis-policy-git-'));
  private readonly gitDir = path.join(this.home, 'repo.git');
  private readonly allowedSigners = path.join(this.home, 'allowed_signers');
  private ready: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly config: GitSourceConfig) {}

  /** An empty bare repository to fetch into, and the signers file git checks signatures against. */
  private init(): Promise<void> {
    this.ready ??= (async () => {
      await runGit({ gitDir: this.gitDir, args: ['init', '--quiet', '--bare', this.gitDir] });
      if (this.config.signers !== undefined) {
        // One principal per key, restricted to git's signature namespace.
        const lines = this.config.signers.map((key, i) => `portcullis-signer-${i + 1} namespaces="git" ${key.trim()}\n`);
        writeFileSync(this.allowedSigners, lines.join(''), { mode: 0o600 });
      }
    })();
    return this.ready;
  }

  async latest(): Promise<PolicyVersion> {
    const { url, ref } = this.config;
    let commit: string;
    try {
      await this.init();
      // `--` ends the options: a URL or ref can never be read as one.
      await runGit({ gitDir: this.gitDir, args: ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--depth=1', '--', url, `+${ref}:refs/portcullis/policy`] });
      commit = (await runGit({ gitDir: this.gitDir, args: ['rev-parse', '--verify', '--quiet', 'refs/portcullis/policy^{commit}'] })).trim();
    } catch (err) {
      throw rejected(err);
    }
    if (!COMMIT.test(commit)) throw new PolicyRejectedError(`git: ${ref} did not name a commit`);
    return {
      id: `git:${commit}`,
      origin: { kind: 'git', url: withoutCredentials(url), ref, path: this.config.path, commit },
      prepare: (options) => this.prepare(commit, options),
    };
  }

  private async prepare(commit: string, options: PrepareOptions) {
    if (this.config.signers !== undefined) await this.verifySignature(commit);
    const folder = path.join(this.home, `checkout-${commit}`);
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { mode: 0o700 });
    try {
      await this.export(commit, folder);
      return await preparePolicy({ kind: 'folder', path: folder }, { ...options, commit });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }

  private async verifySignature(commit: string): Promise<void> {
    try {
      await runGit({ gitDir: this.gitDir, settings: [`gpg.ssh.allowedSignersFile=${this.allowedSigners}`], args: ['verify-commit', commit] });
    } catch (err) {
      if (err instanceof GitError) throw new PolicyRejectedError(`commit ${commit} is not signed by a listed key`, `git:${commit}`);
      throw err;
    }
  }

  /** The policy folder of `commit`, as regular files and folders under `folder` (no links, nothing outside). */
  private async export(commit: string, folder: string): Promise<void> {
    const tree = this.config.path === '.' ? commit : `${commit}:${this.config.path}`;
    const archive = new PassThrough();
    const unpack = extract({ cwd: folder, strict: true, filter: (_p, entry) => 'type' in entry && (entry.type === 'File' || entry.type === 'Directory') });
    try {
      await Promise.all([
        runGit({ gitDir: this.gitDir, args: ['archive', '--format=tar', tree], into: archive, maxBytes: MAX_ARCHIVE_BYTES }),
        pipeline(archive, unpack),
      ]);
    } catch (err) {
      archive.destroy();
      throw rejected(err, `git:${commit}`);
    }
  }

  /** Polls every `poll_s` seconds (the timer does not keep the process alive). */
  watch(changed: () => void): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(changed, this.config.poll_s * 1000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    // A git child ended by close may still be writing into it: removal retries (ENOTEMPTY) briefly.
    rmSync(this.home, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}
