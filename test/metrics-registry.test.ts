import t from 'tap';
import { GatewayMetrics } from '../gateway/metrics/gateway-metrics.js';
import { serveMetrics } from '../gateway/metrics/server.js';

/** The value of one sample line in the exposition text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('the facade feeds the metrics the issue names, plus process defaults', async (t) => {
  const metrics = new GatewayMetrics();
  metrics.request({ server: 'fs', method: 'tools/call', decision: 'allow' });
  metrics.request({ server: 'fs', method: 'tools/call', decision: 'deny' });
  metrics.decisionDuration(0.0003);
  metrics.upstreamCall({ server: 'fs', outcome: 'ok', seconds: 0.02 });
  metrics.upstreamCall({ server: 'fs', outcome: 'timeout' });
  metrics.denial({ server: 'fs', tool: { name: 'write_file', listed: true }, reasons: ['path outside workspace', 'second'], agent: 'spiffe://x/agent/a' });
  metrics.redactions({ 'github-token': 2, 'ansi-escape': 1, 'made-up': 4 });
  metrics.upstreamUp('fs', false);
  metrics.policyReload(true);
  metrics.policyReload(false);
  metrics.policyRevision('rev-1');
  metrics.policyRevision('rev-2');
  metrics.auditObserver.recordsWritten(3);
  metrics.auditObserver.writeFailed();
  metrics.auditObserver.availabilityChanged(false);
  const { body, contentType } = await metrics.exposition();
  t.match(contentType, 'text/plain');
  t.equal(sample(body, 'portcullis_requests_total{server="fs",method="tools/call",decision="allow"}'), 1);
  t.equal(sample(body, 'portcullis_decision_duration_seconds_count'), 1);
  t.equal(sample(body, 'portcullis_upstream_duration_seconds_count{server="fs"}'), 1, 'only calls with a duration observed');
  t.equal(sample(body, 'portcullis_upstream_calls_total{server="fs",outcome="timeout"}'), 1);
  t.equal(sample(body, 'portcullis_denials_total{server="fs",tool="write_file",reason="path_outside_workspace"}'), 1, 'first reason, cleaned');
  t.equal(sample(body, 'portcullis_agent_denials_total{agent="spiffe://x/agent/a"}'), 1);
  t.equal(sample(body, 'portcullis_redactions_total{detector="github-token"}'), 2);
  t.equal(sample(body, 'portcullis_redactions_total{detector="other"}'), 4, 'unknown detector names are not labels');
  t.equal(sample(body, 'portcullis_upstream_up{server="fs"}'), 0);
  t.equal(sample(body, 'portcullis_policy_reloads_total{result="failure"}'), 1);
  t.equal(sample(body, 'portcullis_policy_revision_info{revision="rev-2"}'), 1);
  t.equal(sample(body, 'portcullis_policy_revision_info{revision="rev-1"}'), undefined, 'old revision dropped');
  t.equal(sample(body, 'portcullis_audit_records_total'), 3);
  t.equal(sample(body, 'portcullis_audit_write_errors_total'), 1);
  t.equal(sample(body, 'portcullis_audit_available'), 0);
  t.match(body, /^process_cpu_user_seconds_total /m);
  t.match(body, /^nodejs_eventloop_lag_seconds /m);
});

t.test('labels are bounded and never echo hostile or secret input', async (t) => {
  const metrics = new GatewayMetrics({ process_metrics: false, max_label_values: 5 });
  const secret = 'ghp_' + 'Q'.repeat(36);
  const seriesOf = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const baseline = seriesOf((await metrics.exposition()).body).length;
  for (let i = 0; i < 500; i++) {
    metrics.request({ server: `srv-${i}`, method: `custom/${i}`, decision: 'allow' });
    metrics.denial({ server: 'fs', tool: { name: `tool-${i}`, listed: true }, reasons: [`reason ${i} ${secret}`], agent: `agent-${i}` });
  }
  metrics.request({ server: 'fs', method: 'tools/call', decision: 'weird' as never });
  metrics.upstreamUp('evil"}\n injected_metric 1', true);
  const { body } = await metrics.exposition();
  const series = seriesOf(body);
  t.ok(series.length - baseline <= 20, `bounded: ${series.length - baseline} new series after 1000 distinct inputs`);
  // The server label is shared: srv-0..3 and fs (from the denials) fill its 5 values.
  t.equal(sample(body, 'portcullis_requests_total{server="other",method="other",decision="allow"}'), 496);
  t.equal(sample(body, 'portcullis_requests_total{server="fs",method="tools/call",decision="other"}'), 1);
  t.equal(sample(body, 'portcullis_denials_total{server="fs",tool="tool-0",reason="reason_0__REDACTED:github-token_"}'), 1);
  t.notMatch(body, 'ghp_', 'no secret, not even a cut one');
  t.notMatch(body, /^injected_metric/m);
  const labelValues = series.flatMap((line) => [...line.matchAll(/="([^"]*)"/g)].map((m) => m[1] ?? ''));
  t.ok(labelValues.length > 20);
  t.same(labelValues.filter((v) => v.length > 64 || !/^(?:[A-Za-z0-9_.:/-]*|\+Inf)$/.test(v)), [], 'every label value short and in the safe charset');
});

t.test('the node:http /metrics listener: 200 on the path, 404 elsewhere, 405 for other methods', async (t) => {
  const metrics = new GatewayMetrics({ process_metrics: false, max_label_values: 10 });
  metrics.request({ server: 'fs', method: 'ping', decision: 'allow' });
  const server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0, path: '/metrics' });
  t.teardown(() => server.close());
  const ok = await fetch(server.url);
  t.equal(ok.status, 200);
  t.match(await ok.text(), 'portcullis_requests_total{server="fs",method="ping",decision="allow"} 1');
  t.equal((await fetch(server.url.replace('/metrics', '/other'))).status, 404);
  t.equal((await fetch(server.url, { method: 'POST', body: 'x' })).status, 405);
});
