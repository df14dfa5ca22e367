/**
 * Every `portcullis` command and subcommand answers `--help` (or `-h`) with
 * its usage on stdout and exit code 0, without doing anything else; the bin
 * itself (main.ts) does the same as a real process.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runCli } from '../gateway/cli/commands.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUBCOMMANDS: Record<string, string[]> = {
  start: [],
  certs: ['init', 'issue', 'revoke'],
  token: ['issue', 'revoke'],
  policy: ['build', 'test', 'eval', 'sign', 'verify'],
  audit: ['verify', 'query'],
  holds: ['list', 'show', 'approve', 'deny', 'tools', 'approve-tool', 'admin-cert', 'new-token'],
  agents: ['list', 'run', 'runs', 'show'],
};

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

t.test('every command and subcommand answers --help with its usage', async (t) => {
  for (const [command, subcommands] of Object.entries(SUBCOMMANDS)) {
    for (const argv of [[command, '--help'], [command, '-h'], ...subcommands.map((sub) => [command, sub, '--help'])]) {
      const answer = await cli(argv);
      t.equal(answer.code, 0, `${argv.join(' ')} exits 0`);
      t.match(answer.out, new RegExp(`usage:[^]*portcullis ${command}`), `${argv.join(' ')} prints the usage of ${command}`);
      for (const sub of argv.length === 3 ? [argv[1]] : []) t.match(answer.out, sub, `and names ${sub}`);
      t.equal(answer.err, '', `${argv.join(' ')} writes nothing to stderr`);
    }
  }
  // After `--`, `--help` is an argument like any other.
  t.equal((await cli(['certs', 'nosuch', '--', '--help'])).code, 2);
});

t.test('the top level: help, unknown commands echoed inert', async (t) => {
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const answer = await cli(argv);
    t.equal(answer.code, 0);
    t.match(answer.out, /usage: portcullis <command>[^]*holds/);
  }
  t.equal((await cli([])).code, 2, 'no command is a usage error');
  const unknown = await cli(['\u001b[31mnosuch']);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /unknown command/);
  t.notMatch(unknown.err, /\u001b/, 'no escape sequence reaches the terminal');
});

t.test('the bin: `portcullis holds --help` as a process', async (t) => {
  // Only the TypeScript loader, without tap's per-process hooks (as in integration-crash.test.ts).
  const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [...loader, path.join(ROOT, 'gateway/cli/main.ts'), 'holds', 'list', '--help'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 0, err);
  t.match(out, /usage:[^]*portcullis holds list/);
});
