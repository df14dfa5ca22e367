/**
 * The real Prometheus server scrapes a real /metrics listener under generated
 * traffic; every PromQL query of every dashboard and alert rule must parse and
 * return series. promtool validates (and unit-tests) the rule files.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { providersFromObject } from '../agents/providers/config.js';
import { ModelRouter } from '../agents/providers/failover.js';
import { bindLlmMetrics } from '../agents/providers/metrics.js';
import { GatewayMetrics } from '../gateway/metrics/gateway-metrics.js';
import { errorBody, jsonAnswer, modelAnswer } from '../test-support/llm-wire.js';
import { serveMetrics } from '../gateway/metrics/server.js';
import { ALERTS, DASHBOARDS, concrete, shippedQueries } from './metrics-queries.js';

const missing = ['prometheus', 'promtool'].filter((bin) => spawnSync('which', [bin]).status !== 0);
/** A missing Prometheus is a skip, reported as one: never a pass. */
const skip = missing.length > 0 ? `${missing.join(' and ')} not installed (Debian package "prometheus")` : false;

function promtool(t: Test, ...args: string[]): void {
  const run = spawnSync('promtool', args, { encoding: 'utf8' });
  t.equal(run.status, 0, `promtool ${args.join(' ')}\n${run.stdout}${run.stderr}`);
}

t.test('promtool: rule files are valid, alert unit tests pass, the example config is valid', { skip }, async (t) => {
  promtool(t, 'check', 'rules', ALERTS);
  promtool(t, 'test', 'rules', path.join(DASHBOARDS, 'prometheus/alerts.test.yml'));
  promtool(t, 'check', 'config', path.join(DASHBOARDS, 'prometheus/prometheus.yml'));
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Retries `attempt` until it returns a value or the deadline passes. */
async function poll<T>(what: string, deadlineMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** One tick of a gateway's worth of traffic, including the conditions every alert watches for. */
function traffic(metrics: GatewayMetrics, tick: number): void {
  for (const server of ['fs', 'everything']) {
    for (let i = 0; i < 4; i++) {
      metrics.request({ server, method: 'tools/call', decision: 'allow' });
      metrics.decisionDuration(0.0001 * (1 + (i % 5)));
      metrics.upstreamCall({ server, outcome: i === 0 ? 'error' : 'ok', seconds: 0.005 * (1 + i) });
    }
    metrics.request({ server, method: 'tools/list', decision: 'hold' });
  }
  for (let i = 0; i < 4; i++) {
    metrics.request({ server: 'fs', method: 'tools/call', decision: 'deny' });
    metrics.denial({ server: 'fs', tool: { name: 'write_file', listed: true }, reasons: ['path outside workspace'], agent: `spiffe://test/agent/a${i % 2}` });
  }
  metrics.redactions({ 'github-token': 1, 'ansi-escape': 2 });
  metrics.upstreamUp('fs', false);
  metrics.upstreamUp('everything', true);
  metrics.policyReload(tick % 2 === 0);
  metrics.policyRevision('rev-2026-11-22');
  metrics.auditObserver.recordsWritten(10);
  metrics.auditObserver.writeFailed();
  metrics.auditObserver.availabilityChanged(false);
  metrics.rateLimited('agent_tool');
  metrics.holdEvent('approved', 3 + (tick % 5), 0);
  metrics.holdEvent('expired', 60, 0);
  metrics.holdEvent('proposed', 0, 1);
  metrics.pinEvent('quarantined', 1);
}

/**
 * The orchestrator's model requests on the same registry, as `portcullis start`
 * hosts it: a provider that answers 500 (a failover) and one that answers,
 * both in-process in their wire format. Returns one request's worth.
 */
function llmTraffic(metrics: GatewayMetrics): () => Promise<unknown> {
  const answer = modelAnswer('openai', { text: 'ok' }, false, 'm', 0);
  const failing = jsonAnswer(500, errorBody('openai', 500));
  const fetch: typeof globalThis.fetch = async (input) => {
    const wire = String(input).startsWith('http://failing.invalid/') ? failing : answer;
    return new Response(wire.body, { status: wire.status, headers: wire.headers });
  };
  const router = new ModelRouter(
    providersFromObject({
      failing: { kind: 'openai-compatible', base_url: 'http://failing.invalid/v1', stream: false, retries: 0, breaker_failures: 1000 },
      local: { kind: 'openai-compatible', base_url: 'http://local.invalid/v1', stream: false },
    }),
    { fetch },
  );
  bindLlmMetrics(router, metrics.registry);
  const models = [
    { provider: 'failing', model: 'm' },
    { provider: 'local', model: 'm' },
  ];
  return () => router.ask(models, { system: 'Answer.', messages: [{ role: 'user', content: 'Hi.' }], tools: [] }, new AbortController().signal);
}

interface QueryResponse {
  status: string;
  error?: string;
  data?: { result: unknown[] };
}

t.test('Prometheus scrapes the gateway metrics; every dashboard and alert query returns series', { skip }, async (t) => {
  const metrics = new GatewayMetrics();
  const endpoint = await serveMetrics(metrics, { host: '127.0.0.1', port: 0, path: '/metrics' });
  t.teardown(() => endpoint.close());
  const ask = llmTraffic(metrics);
  let tick = 0;
  traffic(metrics, tick++);
  const load = setInterval(() => {
    traffic(metrics, tick++);
    ask().catch((error: unknown) => t.fail(`model request: ${String(error)}`));
  }, 50);
  t.teardown(() => clearInterval(load));

  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-prometheus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = new URL(endpoint.url).host;
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(ALERTS)}]`,
      'scrape_configs:',
      '  - job_name: portcullis',
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const prometheus = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => prometheus.once('exit', () => resolve()));
  t.teardown(async () => {
    prometheus.kill('SIGTERM');
    const killer = setTimeout(() => prometheus.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  });

  const api = `http://127.0.0.1:${port}`;
  await poll('Prometheus ready', 30_000, async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined)).catch((error: Error) => {
    throw new Error(`${error.message}\n${log}`);
  });
  const query = async (expr: string): Promise<QueryResponse> => {
    const response = await fetch(`${api}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return (await response.json()) as QueryResponse;
  };
  await poll('the gateway target up', 30_000, async () => ((await query('up{job="portcullis"} == 1')).data?.result.length ? true : undefined));

  const queries = shippedQueries();
  for (const { where, expr } of queries) {
    const parsed = await query(concrete(expr));
    t.equal(parsed.status, 'success', `${where}: parses${parsed.error ? ` (${parsed.error})` : ''}`);
  }
  // Rates need two samples in the window: poll until every query has data, then report each.
  const empty = async (): Promise<string[]> => {
    const without: string[] = [];
    for (const { where, expr } of queries) if (!(await query(concrete(expr))).data?.result.length) without.push(where);
    return without;
  };
  const remaining = await poll('series for every query', 60_000, async () => {
    const without = await empty();
    return without.length === 0 ? without : undefined;
  }).catch(async () => empty());
  t.same(remaining, [], `all ${queries.length} queries return series`);
});
