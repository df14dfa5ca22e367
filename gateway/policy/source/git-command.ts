/**
 * Runs the `git` binary: fixed argv, no shell, a time limit, bounded output,
 * and settings that make it a reader only. The git binary is what users
 * already trust with their repositories (every transport, credential helper
 * and SSH setup they have), and `git verify-commit` is the reference check
 * for SSH-signed commits; no JavaScript git library verifies those.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

/** Settings passed on every call, whatever the user's or system's git configuration says. */
const SAFE_SETTINGS = [
  // No command-running transports (`ext::`), whatever a URL says.
  'protocol.ext.allow=never',
  // OpenPGP and X.509 signatures cannot be checked here: never "good".
  'gpg.openpgp.program=false',
  'gpg.x509.program=false',
  'core.hooksPath=/dev/null',
  'advice.detachedHead=false',
];

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

export interface GitRun {
  /** The repository (`--git-dir`). */
  gitDir: string;
  args: string[];
  /** Extra `-c name=value` settings for this call. */
  settings?: string[];
  timeoutMs?: number;
  /** Standard output goes here instead of being collected (e.g. an archive into an extractor). */
  into?: Writable;
  /** Refuse more standard output than this (collected or streamed). */
  maxBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const STDERR_KEEP = 2048;

function environment(): NodeJS.ProcessEnv {
  // HOME stays: SSH keys and credential helpers are how users reach private repositories.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };
  for (const name of ['HOME', 'SSH_AUTH_SOCK', 'GIT_SSH_COMMAND', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The first line git wrote to standard error, cut: enough to say why, never a page of output. */
function firstLine(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.trim().slice(0, 200);
}

/** Runs git; resolves with its standard output (empty when streamed), rejects with a GitError. */
export function runGit(run: GitRun): Promise<string> {
  const argv = [...[...SAFE_SETTINGS, ...(run.settings ?? [])].flatMap((s) => ['-c', s]), `--git-dir=${run.gitDir}`, ...run.args];
  const maxBytes = run.maxBytes ?? DEFAULT_MAX_BYTES;
  return new Promise((resolve, reject) => {
    const child = spawn('git', argv, { env: environment(), stdio: ['ignore', 'pipe', 'pipe'], timeout: run.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    const out: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let failure: string | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        failure = `git ${run.args[0] ?? ''}: output larger than ${maxBytes} bytes`;
        child.kill('SIGKILL');
        return;
      }
      if (run.into === undefined) out.push(chunk);
      else if (run.into.destroyed) child.kill('SIGKILL');
      else if (!run.into.write(chunk)) {
        child.stdout.pause();
        run.into.once('drain', () => child.stdout.resume());
      }
    });
    // A consumer that gave up (a bad archive) stops git rather than leave it waiting to write.
    run.into?.once('close', () => {
      if (child.exitCode !== null) return;
      failure ??= `git ${run.args[0] ?? ''}: output closed early`;
      child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => reject(new GitError(`cannot run git: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (failure !== undefined) return reject(new GitError(failure));
      if (code !== 0) {
        const why = signal === null ? firstLine(stderr) || `exit code ${code}` : `stopped by ${signal}`;
        return reject(new GitError(`git ${run.args[0] ?? ''} failed: ${why}`));
      }
      if (run.into !== undefined) run.into.end();
      resolve(Buffer.concat(out).toString('utf8'));
    });
  });
}
