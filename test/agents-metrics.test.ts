/**
 * The orchestrator's model requests in Prometheus: against fake providers
 * (a 429, a 500, then an answer from the next provider) every attempt is
 * counted by provider and outcome, the failover and the tokens too; a
 * provider the configuration does not name is labelled "other"; the metrics
 * bind onto the gateway's own registry beside its metrics, twice without
 * error, and stop counting once unbound.
 */
import t from 'tap';
import type { Registry } from 'prom-client';
import type { ModelChoice } from '../agents/catalog/schema.js';
import { providersFromObject } from '../agents/providers/config.js';
import { ModelRouter } from '../agents/providers/failover.js';
import { bindLlmMetrics } from '../agents/providers/metrics.js';
import type { ModelRequest } from '../agents/providers/model.js';
import { GatewayMetrics } from '../gateway/metrics/gateway-metrics.js';
import { startFakeProvider } from './fixtures/llm-servers.js';

const REQUEST: ModelRequest = { system: 'You are a test.', messages: [{ role: 'user', content: 'Hi.' }], tools: [] };

/** Every sample of a metric as "label=value,…" → value. */
async function samples(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return {};
  const out: Record<string, number> = {};
  // A histogram's values name their series (_bucket, _sum, _count); a counter's do not.
  for (const v of (await metric.get()).values as Array<{ labels: Record<string, unknown>; value: number; metricName?: string }>) {
    const key = [v.metricName ?? name, ...Object.entries(v.labels).filter(([k]) => k !== 'le').map(([k, value]) => `${k}=${String(value)}`)].join(' ');
    if (v.metricName === undefined || v.metricName.endsWith('_count')) out[key] = v.value;
  }
  return out;
}

t.test('attempts, failovers and tokens counted per provider and outcome', async (t) => {
  const primary = await startFakeProvider('anthropic', [
    { kind: 'status', status: 429, headers: { 'retry-after': '0' } },
    { kind: 'status', status: 500 },
  ]);
  const backup = await startFakeProvider('openai', [{ kind: 'answer', text: 'from the backup', inputTokens: 21, outputTokens: 7 }]);
  t.teardown(() => Promise.all([primary.close(), backup.close()]));
  const router = new ModelRouter(
    providersFromObject({
      primary: { kind: 'anthropic', base_url: primary.baseUrl, api_key_env: 'PRIMARY_KEY', stream: false, retries: 1, backoff_ms: 1 },
      backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'BACKUP_KEY' },
    }),
    { env: { PRIMARY_KEY: 'k1-0123456789', BACKUP_KEY: 'k2-0123456789' }, random: () => 0 },
  );
  const gateway = new GatewayMetrics();
  const registry = gateway.registry;
  const unbind = bindLlmMetrics(router, registry);
  const again = bindLlmMetrics(router, new GatewayMetrics().registry);
  again();

  const models: ModelChoice[] = [
    { provider: 'unconfigured', model: 'x' },
    { provider: 'primary', model: 'model-a' },
    { provider: 'backup', model: 'model-b' },
  ];
  const answer = await router.ask(models, REQUEST, new AbortController().signal);
  t.equal(answer.provider, 'backup');

  t.same(await samples(registry, 'portcullis_llm_requests_total'), {
    'portcullis_llm_requests_total provider=primary outcome=rate_limited': 1,
    'portcullis_llm_requests_total provider=primary outcome=server_error': 1,
    'portcullis_llm_requests_total provider=backup outcome=ok': 1,
  });
  t.same(await samples(registry, 'portcullis_llm_failovers_total'), { 'portcullis_llm_failovers_total provider=primary': 1 });
  t.same(await samples(registry, 'portcullis_llm_skipped_total'), { 'portcullis_llm_skipped_total provider=other reason=not_configured': 1 }, 'an unconfigured name is "other"');
  t.same(await samples(registry, 'portcullis_llm_tokens_total'), {
    'portcullis_llm_tokens_total provider=backup type=input': 21,
    'portcullis_llm_tokens_total provider=backup type=output': 7,
  });
  t.same(await samples(registry, 'portcullis_llm_request_duration_seconds'), {
    'portcullis_llm_request_duration_seconds_count provider=primary': 2,
    'portcullis_llm_request_duration_seconds_count provider=backup': 1,
  });
  const text = await registry.metrics();
  t.match(text, /^# TYPE portcullis_requests_total counter$/m, "beside the gateway's own metrics");
  t.match(text, /^portcullis_llm_requests_total\{provider="backup",outcome="ok"\} 1$/m, 'in the exposition format');

  t.doesNotThrow(() => bindLlmMetrics(router, registry)(), 'binding again onto the same registry reuses its metrics');
  unbind();
  backup.script([{ kind: 'answer', text: 'again' }]);
  await router.ask(models.slice(2), REQUEST, new AbortController().signal);
  t.same(await samples(registry, 'portcullis_llm_requests_total'), {
    'portcullis_llm_requests_total provider=primary outcome=rate_limited': 1,
    'portcullis_llm_requests_total provider=primary outcome=server_error': 1,
    'portcullis_llm_requests_total provider=backup outcome=ok': 1,
  }, 'unbound: no longer counted');
});

t.test('a configuration error (401) and a cancelled attempt have their own outcomes', async (t) => {
  const refusing = await startFakeProvider('anthropic', [{ kind: 'status', status: 401 }, { kind: 'hang' }]);
  t.teardown(() => refusing.close());
  const router = new ModelRouter(providersFromObject({ primary: { kind: 'anthropic', base_url: refusing.baseUrl, api_key_env: 'PRIMARY_KEY', stream: false } }), {
    env: { PRIMARY_KEY: 'k1-0123456789' },
  });
  const registry = new GatewayMetrics().registry;
  bindLlmMetrics(router, registry);
  const models: ModelChoice[] = [{ provider: 'primary', model: 'model-a' }];
  await t.rejects(router.ask(models, REQUEST, new AbortController().signal), { name: 'ModelConfigurationError' });
  const abort = new AbortController();
  const asked = router.ask(models, REQUEST, abort.signal).catch((e: unknown) => e);
  for (let i = 0; i < 200 && refusing.requests.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  abort.abort(new Error('run cancelled'));
  t.match(await asked, { message: 'run cancelled' });
  t.same(await samples(registry, 'portcullis_llm_requests_total'), {
    'portcullis_llm_requests_total provider=primary outcome=refused': 1,
    'portcullis_llm_requests_total provider=primary outcome=cancelled': 1,
  });
});
