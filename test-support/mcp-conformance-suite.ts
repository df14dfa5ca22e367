/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
 * server scenarios) against a URL and counts its checks per scenario, and
 * starts the conformant upstream it is compared on
 * (mcp-conformance-server.mjs). On Node 20 the CLI runs with
 * mcp-conformance-preload.mjs (fs.globSync; optional mTLS client identity).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export interface ScenarioScore {
  success: number;
  failure: number;
  warning: number;
}

/** PEM files the CLI presents to a gateway that requires mTLS. */
export interface ClientTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface SuiteOptions {
  url: string;
  /** Results are written under this folder (it must be empty or absent). */
  outDir: string;
  tls?: ClientTlsFiles;
  timeoutMs: number;
}

/** `server-<scenario>-<ISO timestamp>` → scenario. */
function scenarioOf(folder: string): string | undefined {
  return /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(folder)?.[1];
}

/** Tallies every checks.json under `outDir` by scenario. */
export function readScores(outDir: string): Map<string, ScenarioScore> {
  const scores = new Map<string, ScenarioScore>();
  for (const entry of readdirSync(outDir, { withFileTypes: true })) {
    const scenario = entry.isDirectory() ? scenarioOf(entry.name) : undefined;
    if (scenario === undefined) continue;
    const checks = JSON.parse(readFileSync(path.join(outDir, entry.name, 'checks.json'), 'utf8')) as Array<{ status?: string }>;
    const score = { success: 0, failure: 0, warning: 0 };
    for (const check of checks) {
      if (check.status === 'SUCCESS') score.success += 1;
      else if (check.status === 'FAILURE') score.failure += 1;
      else if (check.status === 'WARNING') score.warning += 1;
    }
    scores.set(scenario, score);
  }
  return scores;
}

/**
 * Runs every server scenario against `url`, the suite's pending ones included
 * (`--suite all`: reconnection, server-sse-polling, is pending in it);
 * resolves with the per-scenario scores.
 */
export async function runConformanceSuite(options: SuiteOptions): Promise<Map<string, ScenarioScore>> {
  const cli = require.resolve('@modelcontextprotocol/conformance/dist/index.js');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  if (options.tls !== undefined) {
    env.CONFORMANCE_TLS_CA = options.tls.ca;
    env.CONFORMANCE_TLS_CERT = options.tls.cert;
    env.CONFORMANCE_TLS_KEY = options.tls.key;
  }
  const child = spawn(
    process.execPath,
    ['--import', path.join(here, 'mcp-conformance-preload.mjs'), cli, 'server', '--url', options.url, '--suite', 'all', '-o', options.outDir],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  // The CLI exits 1 when any check fails; only missing results mean it did not run.
  let scores: Map<string, ScenarioScore>;
  try {
    scores = readScores(options.outDir);
  } catch {
    scores = new Map();
  }
  if (scores.size === 0) throw new Error(`conformance CLI produced no results (exit ${code}): ${stderr.slice(0, 2000)}`);
  return scores;
}

export interface ConformanceUpstream {
  url: string;
  close(): Promise<void>;
}

/** Starts mcp-conformance-server.mjs on a free loopback port, with stateful sessions or stateless. */
export async function startConformanceUpstream(sessions: 'stateful' | 'stateless'): Promise<ConformanceUpstream> {
  const child = spawn(process.execPath, [path.join(here, 'mcp-conformance-server.mjs'), sessions], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        lines.close();
        const parsed = JSON.parse(line) as { url?: unknown };
        if (typeof parsed.url === 'string') resolve(parsed.url);
        else reject(new Error('conformance upstream printed no URL'));
      });
      child.once('exit', (code) => reject(new Error(`conformance upstream exited with ${code}`)));
    });
    return { url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
