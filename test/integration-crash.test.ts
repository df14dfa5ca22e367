/**
 * A real `portcullis start` child process under load, killed with SIGKILL,
 * restarted on the same audit folder: `portcullis audit verify` passes on
 * everything written, and the restarted gateway keeps auditing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { run as auditCli } from '../gateway/cli/audit.js';
import { agentFiles, pkiPaths } from '../gateway/pki/store.js';
import { connectClient, EVERYTHING, ROOT } from './fixtures/gateway-harness.js';

const MAIN = path.join(ROOT, 'gateway/cli/main.ts');

interface Child {
  url: Promise<string>;
  exited: Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `portcullis start --config <file>` under this test's TypeScript loader; resolves its URL once listening. */
function startChild(t: Test, configFile: string): Child {
  // Only the TypeScript loader, and without tap's per-process hooks (NODE_OPTIONS), as in audit-crash.test.ts.
  const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const proc = spawn(process.execPath, [...loader, MAIN, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'ignore'], env });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return exited;
  });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /Portcullis listening on (\S+)/.exec(out);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    void exited.then(() => reject(new Error('gateway exited before listening')));
  });
  return { url, exited, kill: (signal) => proc.kill(signal) };
}

t.test('SIGKILL under load, restart, audit verify passes', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-crash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: { port: 0 },
      tls: { dir: 'certs', trust_domain: 'portcullis.local' },
      policy: { dir: path.join(ROOT, 'policies') },
      upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } },
      audit: { dir: 'audit', checkpoint_every: 20 },
      log: { level: 'silent' },
    }),
  );
  const first = startChild(t, configFile);
  const url = await first.url;
  const pki = pkiPaths(path.join(dir, 'certs'));
  const demo = agentFiles(pki, 'demo');
  const tls = { ca: readFileSync(pki.caCert, 'utf8'), cert: readFileSync(demo.cert, 'utf8'), key: readFileSync(demo.key, 'utf8') };

  // Four agents call in a loop; the gateway is killed once 40 calls have completed.
  let completed = 0;
  let killed = false;
  const loads = Array.from({ length: 4 }, async () => {
    const client = await connectClient(t, `${url}/mcp/everything`, tls);
    for (let i = 0; i < 500 && !killed; i++) {
      try {
        await client.callTool({ name: 'echo', arguments: { message: `call ${i}` } });
        completed += 1;
      } catch {
        return;
      }
      if (completed >= 40 && !killed) {
        killed = true;
        first.kill('SIGKILL');
      }
    }
  });
  await Promise.all(loads);
  await first.exited;
  t.ok(killed, 'killed under load');

  const second = startChild(t, configFile);
  const client = await connectClient(t, `${await second.url}/mcp/everything`, tls);
  t.match(JSON.stringify(await client.callTool({ name: 'echo', arguments: { message: 'after restart' } })), /after restart/);
  await client.close();
  second.kill('SIGTERM');
  await second.exited;

  const out: string[] = [];
  const io = { out: (s: string) => void out.push(s), err: (s: string) => void out.push(s) };
  const code = await auditCli(['verify', path.join(dir, 'audit'), '--key', pki.serverCert], io);
  t.equal(code, 0, `verify passes: ${out.join('').slice(0, 200)}`);
  const decisions: string[] = [];
  await auditCli(['query', path.join(dir, 'audit'), '--type', 'decision'], { out: (s: string) => void decisions.push(s), err: () => undefined });
  t.ok(decisions.length >= 41, 'every acknowledged call before the kill and the call after it are on record');
});
