/**
 * What can be checked of deploy/ without Docker, Kubernetes or Helm: the
 * compose file and the chart parse, every file they mount or read exists,
 * the gateway configurations they carry are valid portcullis.yaml, the
 * pieces name each other consistently (service names, ports, datasource
 * uid, dashboard folder), every value a template reads is in values.yaml,
 * and promtool accepts the Prometheus configuration as mounted. helm lint
 * and helm template run when helm is installed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { configFromObject } from '../gateway/config/load.js';
import { ROOT } from './fixtures/gateway-harness.js';

const run = promisify(execFile);
const DEPLOY = path.join(ROOT, 'deploy');
const CHART = path.join(DEPLOY, 'helm/portcullis');

interface ComposeService {
  build?: { context: string; dockerfile: string };
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: unknown;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const compose = parseYaml(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { uniqueKeys: true }) as Compose;

/** A service's bind mounts: host path (absolute) and container path. */
function bindMounts(service: ComposeService): Array<{ host: string; container: string }> {
  return (service.volumes ?? [])
    .map((spec) => spec.split(':'))
    .filter(([source]) => source !== undefined && source.startsWith('.'))
    .map(([source, target]) => ({ host: path.resolve(DEPLOY, source as string), container: target as string }));
}

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`compose.yaml has no service ${name}`);
  return found;
}

async function which(program: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${program}`]);
    return true;
  } catch {
    return false;
  }
}

t.test('compose: every mounted file exists and named volumes are declared', async (t) => {
  t.same(Object.keys(compose.services).sort(), ['gateway', 'grafana', 'prometheus', 'redis']);
  const build = service('gateway').build;
  t.ok(build !== undefined && existsSync(path.join(DEPLOY, build.context, build.dockerfile)), 'the gateway builds from the Dockerfile');
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const mount of bindMounts(svc)) t.ok(existsSync(mount.host) && statSync(mount.host).isFile(), `${name}: ${path.relative(ROOT, mount.host)} exists`);
    for (const spec of svc.volumes ?? []) {
      const source = spec.split(':')[0] as string;
      if (!source.startsWith('.')) t.ok(source in compose.volumes, `${name}: volume ${source} is declared`);
    }
  }
});

t.test('compose: the gateway configuration is valid and shares state through the redis service', async (t) => {
  const mount = bindMounts(service('gateway')).find((m) => m.container === '/opt/portcullis/portcullis.yaml');
  if (mount === undefined) throw new Error('the gateway mounts no portcullis.yaml');
  const config = configFromObject(parseYaml(readFileSync(mount.host, 'utf8')), '/opt/portcullis', mount.host);
  t.equal(config.listen.host, '0.0.0.0');
  t.equal(config.state.backend, 'redis');
  t.equal(new URL(config.state.url ?? '').hostname, 'redis', 'Redis is the compose service');
  t.equal(config.metrics.listen?.port, 9464);
  const prometheus = parseYaml(readFileSync(path.join(DEPLOY, 'compose/prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  const job = prometheus.scrape_configs.find((c) => c.job_name === 'portcullis');
  t.same(job?.static_configs[0]?.targets, [`gateway:${config.metrics.listen?.port}`], 'Prometheus scrapes the gateway service on its metrics port');
});

const promtool = await which('promtool');
const helm = await which('helm');

t.test('compose: promtool accepts the Prometheus configuration and rules as mounted', { skip: promtool ? false : 'promtool is not installed (Debian package prometheus)' }, async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'portcullis-prometheus-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const mounts = bindMounts(service('prometheus'));
  for (const mount of mounts) {
    const target = path.join(root, mount.container);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(mount.host, target);
  }
  const config = path.join(root, 'etc/prometheus/prometheus.yml');
  const checked = await run('promtool', ['check', 'config', config]);
  t.match(checked.stdout, /SUCCESS/, 'promtool check config (and the rule files it names)');
  const rules = await run('promtool', ['check', 'rules', path.join(root, 'etc/prometheus/alerts.yml')]);
  t.match(rules.stdout, /SUCCESS: \d+ rules found/, 'promtool check rules');
});

t.test('compose: Grafana gets the dashboards and a datasource they name', async (t) => {
  const mounts = bindMounts(service('grafana'));
  const datasourceMount = mounts.find((m) => m.container.startsWith('/etc/grafana/provisioning/datasources/'));
  const providerMount = mounts.find((m) => m.container.startsWith('/etc/grafana/provisioning/dashboards/'));
  if (datasourceMount === undefined || providerMount === undefined) throw new Error('grafana mounts no provisioning');
  const datasource = (parseYaml(readFileSync(datasourceMount.host, 'utf8')) as { datasources: Array<{ uid: string; url: string }> }).datasources[0];
  const shipped = (parseYaml(readFileSync(path.join(ROOT, 'dashboards/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string }> }).datasources[0];
  t.equal(datasource?.uid, shipped?.uid, 'the same datasource uid as dashboards/');
  t.equal(new URL(datasource?.url ?? '').host, 'prometheus:9090', 'the compose Prometheus');
  const provider = (parseYaml(readFileSync(providerMount.host, 'utf8')) as { providers: Array<{ options: { path: string } }> }).providers[0];
  const folder = provider?.options.path ?? '';
  const boards = mounts.filter((m) => path.dirname(m.container) === folder).map((m) => path.basename(m.host)).sort();
  const shippedBoards = readdirSync(path.join(ROOT, 'dashboards/grafana')).filter((f) => f.endsWith('.json')).sort();
  t.same(boards, shippedBoards, `every dashboard is mounted in ${folder}`);
});

/** `.Values.a.b` paths a template reads. */
function valuePaths(template: string): string[] {
  return [...template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => (m[1] as string).slice(1));
}

function hasPath(values: unknown, dotted: string): boolean {
  let node = values;
  for (const key of dotted.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

t.test('helm: the chart parses and its templates read only values and files that exist', async (t) => {
  const chart = parseYaml(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as { apiVersion: string; name: string; version: string };
  t.equal(chart.apiVersion, 'v2');
  t.equal(chart.name, 'portcullis');
  const values = parseYaml(readFileSync(path.join(CHART, 'values.yaml'), 'utf8'), { uniqueKeys: true }) as Record<string, unknown>;
  const templates = readdirSync(path.join(CHART, 'templates'));
  for (const wanted of ['statefulset.yaml', 'service.yaml', 'configmap.yaml', 'policies-configmap.yaml', 'pdb.yaml', 'servicemonitor.yaml']) t.ok(templates.includes(wanted), `templates/${wanted}`);
  const helpers = readFileSync(path.join(CHART, 'templates/_helpers.tpl'), 'utf8');
  const defined = new Set([...helpers.matchAll(/define "([^"]+)"/g)].map((m) => m[1]));
  for (const file of templates) {
    const text = readFileSync(path.join(CHART, 'templates', file), 'utf8');
    for (const dotted of new Set(valuePaths(text))) t.ok(hasPath(values, dotted), `${file}: .Values.${dotted} is in values.yaml`);
    for (const m of text.matchAll(/include "([^"]+)"/g)) t.ok(defined.has(m[1]), `${file}: ${m[1]} is defined`);
    for (const m of text.matchAll(/\.Files\.Glob "([^"]+)"/g)) {
      const dir = path.join(CHART, path.dirname(m[1] as string));
      t.ok(existsSync(dir) && readdirSync(dir).includes('decision.rego'), `${file}: ${m[1]} finds the policies`);
    }
  }
});

t.test('helm: lint and render', { skip: helm ? false : 'helm is not installed (no Debian package): the chart was not rendered here' }, async (t) => {
  await run('helm', ['lint', CHART]);
  const rendered = await run('helm', ['template', 'portcullis', CHART, '--namespace', 'mcp', '--set', 'serviceMonitor.enabled=true'], { maxBuffer: 16 * 1024 * 1024 });
  const documents = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as { kind: string; data?: Record<string, string> } | null).filter((d) => d !== null);
  t.same([...new Set(documents.map((d) => d.kind))].sort(), ['ConfigMap', 'PodDisruptionBudget', 'Service', 'ServiceMonitor', 'StatefulSet']);
  const configMap = documents.find((d) => d.kind === 'ConfigMap' && d.data?.['portcullis.yaml'] !== undefined);
  const config = configFromObject(parseYaml(configMap?.data?.['portcullis.yaml'] ?? ''), '/opt/portcullis');
  t.equal(config.state.backend, 'redis', 'the rendered portcullis.yaml is valid and shares state');
});
