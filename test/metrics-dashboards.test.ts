import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { providersFromObject } from '../agents/providers/config.js';
import { ModelRouter } from '../agents/providers/failover.js';
import { bindLlmMetrics } from '../agents/providers/metrics.js';
import { GatewayMetrics } from '../gateway/metrics/gateway-metrics.js';
import { DASHBOARDS, allPanels, dashboards, shippedQueries } from './metrics-queries.js';

t.test('dashboards are provisionable Grafana JSON', async (t) => {
  const boards = dashboards();
  t.same(boards.map(([f]) => f).sort(), ['portcullis-overview.json', 'portcullis-security.json']);
  const uids = new Set<string>();
  for (const [file, board] of boards) {
    t.notOk(uids.has(board.uid), `${file}: unique uid`);
    uids.add(board.uid);
    t.ok(board.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'), `${file}: datasource variable`);
    const ids = new Set<number>();
    for (const panel of allPanels(board)) {
      t.notOk(ids.has(panel.id), `${file}: panel id ${panel.id} unique`);
      ids.add(panel.id);
      const { x, w } = panel.gridPos;
      t.ok(x >= 0 && w > 0 && x + w <= 24, `${file} "${panel.title}": fits the 24-column grid`);
      if (panel.type === 'row') continue;
      t.equal(panel.datasource?.uid, '${datasource}', `${file} "${panel.title}": uses the datasource variable`);
      t.ok((panel.targets ?? []).length > 0, `${file} "${panel.title}": has a query`);
    }
  }
});

t.test('every metric a dashboard or alert queries is one the gateway exports', async (t) => {
  const metrics = new GatewayMetrics();
  // The orchestrator's model request metrics join the gateway's registry when `portcullis start` hosts it.
  bindLlmMetrics(new ModelRouter(providersFromObject({})), metrics.registry);
  const exported = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    exported.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
  }
  const queries = shippedQueries();
  t.ok(queries.length >= 25, `${queries.length} queries`);
  const used = new Set<string>();
  for (const { where, expr } of queries) {
    const names = expr.match(/\b(?:portcullis|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
    t.ok(names.length > 0, `${where}: names a metric`);
    for (const name of names) {
      used.add(name);
      t.ok(exported.has(name), `${where}: ${name} is exported`);
    }
  }
  const issueMetrics = [
    'portcullis_requests_total',
    'portcullis_decision_duration_seconds_bucket',
    'portcullis_upstream_duration_seconds_bucket',
    'portcullis_denials_total',
    'portcullis_redactions_total',
    'portcullis_upstream_up',
    'portcullis_policy_reloads_total',
    'portcullis_policy_revision_info',
    'portcullis_audit_records_total',
    'portcullis_audit_write_errors_total',
    'portcullis_rate_limited_total',
    'portcullis_holds_pending',
    'portcullis_holds_total',
    'portcullis_hold_age_seconds_bucket',
    'portcullis_pinning_events_total',
    'portcullis_tools_quarantined',
    // Issue 14: the orchestrator's model requests.
    'portcullis_llm_requests_total',
    'portcullis_llm_request_duration_seconds_bucket',
    'portcullis_llm_tokens_total',
  ];
  t.same(issueMetrics.filter((m) => !used.has(m)), [], 'every metric of the issue is on a dashboard or alert');
});

t.test('provisioning files point Grafana at the dashboards and Prometheus', async (t) => {
  const datasources = parse(readFileSync(path.join(DASHBOARDS, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
    datasources: { type: string; url: string }[];
  };
  t.match(datasources.datasources[0], { type: 'prometheus', url: /^http:\/\// });
  const providers = parse(readFileSync(path.join(DASHBOARDS, 'grafana/provisioning/dashboards/portcullis.yml'), 'utf8')) as {
    providers: { type: string; options: { path: string } }[];
  };
  t.match(providers.providers[0], { type: 'file', options: { path: /dashboards/ } });
});
