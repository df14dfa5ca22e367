/**
 * The container image, checked without a container runtime: the Dockerfile
 * is read (stages, user, health check, every file it copies is in the build
 * context), then the runtime tree is built the way its stages build it (npm
 * pack of the built checkout, the tarball unpacked, production dependencies
 * only from the lockfile) and the gateway started from that tree with the
 * container configuration. Its HEALTHCHECK command is run against it.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import t from 'tap';
import { Agent, request } from 'undici';
import { parse as parseYaml, stringify } from 'yaml';
import { ConfigError, configFromObject } from '../gateway/config/load.js';
import { SERVER_NAMES_VARIABLE, serverNames } from '../gateway/config/pki-files.js';
import { ROOT } from './fixtures/gateway-harness.js';
import { startGatewayProcess } from './fixtures/gateway-process.js';

const run = promisify(execFile);
// npm ci of the production dependencies and a gateway start: more than the default per-file time on a busy machine.
t.setTimeout(600_000);
const DOCKERFILE = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const CONTAINER_CONFIG = path.join(ROOT, 'deploy/portcullis.container.yaml');

/** Dockerfile instructions with continuation lines joined. */
function instructions(text: string): Array<{ keyword: string; rest: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), rest: rest.join(' ') };
    });
}

/** Whether .dockerignore keeps `file` out of the build context (its patterns: names, `dir/*`, `!` exceptions). */
function ignoredByDockerignore(file: string, patterns: readonly string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    const glob = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (glob.test(file)) ignored = !negated;
  }
  return ignored;
}

/** The HEALTHCHECK's exec-form command. */
function healthCheckCommand(): string[] {
  const line = instructions(DOCKERFILE).find((i) => i.keyword === 'HEALTHCHECK');
  const exec = line === undefined ? undefined : /CMD (\[.*\])$/.exec(line.rest)?.[1];
  if (exec === undefined) throw new Error('the Dockerfile has no exec-form HEALTHCHECK');
  return JSON.parse(exec) as string[];
}

async function healthCheck(port: number): Promise<number> {
  const [command, ...args] = healthCheckCommand();
  if (command !== 'node') throw new Error(`the health check runs ${command}, not node`);
  try {
    await run(process.execPath, args, { env: { ...process.env, PORTCULLIS_PORT: String(port) }, timeout: 15_000 });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

t.test('the Dockerfile builds in two stages and runs unprivileged', async (t) => {
  const steps = instructions(DOCKERFILE);
  const stages = steps.filter((s) => s.keyword === 'FROM').map((s) => s.rest);
  t.same(stages.map((s) => s.split(' AS ')[1]), ['build', 'runtime'], 'a build stage and a runtime stage');
  const runtimeAt = steps.findIndex((s) => s.keyword === 'FROM' && s.rest.endsWith('AS runtime'));
  const runtime = steps.slice(runtimeAt);
  const build = steps.slice(0, runtimeAt);
  t.ok(build.some((s) => s.keyword === 'RUN' && /npm ci\b/.test(s.rest) && !/--omit=dev/.test(s.rest)), 'the build stage installs dev dependencies');
  t.ok(build.some((s) => s.keyword === 'RUN' && /npm run build/.test(s.rest) && /npm pack/.test(s.rest)), 'the build stage builds and packs');
  t.ok(runtime.some((s) => s.keyword === 'RUN' && /npm ci --omit=dev/.test(s.rest)), 'the runtime stage installs production dependencies only');
  t.notOk(runtime.some((s) => s.keyword === 'COPY' && !s.rest.startsWith('--from=') && !s.rest.startsWith('package-lock.json')), 'the runtime stage takes sources from the build stage only');
  const user = runtime.filter((s) => s.keyword === 'USER').at(-1)?.rest;
  t.ok(user !== undefined && user !== 'root' && user !== '0', `runs as ${user}`);
  t.ok(steps.some((s) => s.keyword === 'HEALTHCHECK'), 'has a HEALTHCHECK');

  const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  for (const step of steps.filter((s) => s.keyword === 'COPY' && !s.rest.startsWith('--from='))) {
    const sources = step.rest.split(/\s+/).slice(0, -1);
    for (const source of sources) {
      t.ok(existsSync(path.join(ROOT, source)), `COPY ${source}: exists`);
      t.notOk(ignoredByDockerignore(source, ignore), `COPY ${source}: in the build context`);
    }
  }
  for (const kept of ['node_modules', 'dist', 'certs', 'var', '.git']) t.ok(ignoredByDockerignore(kept, ignore), `${kept} stays out of the build context`);
});

t.test('the container configuration is valid and listens on every interface', async (t) => {
  const document = parseYaml(readFileSync(CONTAINER_CONFIG, 'utf8')) as Record<string, unknown>;
  const config = configFromObject(document, '/opt/portcullis', CONTAINER_CONFIG);
  t.equal(config.listen.host, '0.0.0.0');
  t.equal(config.metrics.listen?.host, '0.0.0.0', 'Prometheus reaches /metrics from another container');
  t.same(serverNames(config, {}), ['portcullis'], 'the compose/Kubernetes service name is a server name');
  t.same(serverNames(config, { [SERVER_NAMES_VARIABLE]: 'Gateway.example.com, portcullis' }), ['portcullis', 'gateway.example.com'], 'the environment adds names');
  t.throws(() => serverNames(config, { [SERVER_NAMES_VARIABLE]: 'bad name' }), ConfigError, 'a name that is not a DNS name is refused');
  t.throws(() => configFromObject({ tls: { server_names: ['under_score'] } }, '/tmp'), /server_names/, 'so is one in the file');
});

t.test('the runtime tree starts the gateway with the container configuration', async (t) => {
  if (!existsSync(path.join(ROOT, 'dist/gateway/cli/main.js'))) {
    t.fail('dist/ is not built (npm ci builds it)');
    return;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-image-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const tree = path.join(work, 'opt-portcullis');

  // Build stage: the package as npm packs it (dist/ as the checkout built it).
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const tarball = readdirSync(work).find((name) => /^portcullis-.*\.tgz$/.test(name));
  if (tarball === undefined) throw new Error('npm pack wrote no tarball');
  // Runtime stage: the packed tree, the lockfile, production dependencies only.
  await run('mkdir', ['-p', tree]);
  await run('tar', ['-xzf', path.join(work, tarball), '--strip-components=1', '-C', tree]);
  copyFileSync(path.join(tree, 'deploy/portcullis.container.yaml'), path.join(tree, 'portcullis.yaml'));
  copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(tree, 'package-lock.json'));
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: tree, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 });

  for (const absent of ['test', 'bench', 'gateway', 'node_modules/typescript', 'node_modules/tap', 'node_modules/assemblyscript']) {
    t.notOk(existsSync(path.join(tree, absent)), `${absent} is not in the image`);
  }
  for (const present of ['dist/gateway/cli/main.js', 'dist/gateway/policy/wasm/runtime.wasm', 'policies/decision.rego', 'node_modules/fastify', 'node_modules/@modelcontextprotocol/server-everything']) {
    t.ok(existsSync(path.join(tree, present)), `${present} is in the image`);
  }

  // The container configuration as the image has it, but on loopback and free ports (tests never bind every interface).
  const document = parseYaml(readFileSync(path.join(tree, 'portcullis.yaml'), 'utf8')) as { listen: Record<string, unknown>; metrics: { listen: Record<string, unknown> } };
  document.listen = { ...document.listen, host: '127.0.0.1', port: 0 };
  document.metrics.listen = { host: '127.0.0.1', port: 0 };
  writeFileSync(path.join(tree, 'portcullis.test.yaml'), stringify(document));

  const extraName = 'gateway.deploy.test';
  const gateway = await startGatewayProcess(t, {
    command: process.execPath,
    args: ['dist/gateway/cli/main.js', 'start', '--config', 'portcullis.test.yaml'],
    cwd: tree,
    env: { ...process.env, NODE_ENV: 'production', [SERVER_NAMES_VARIABLE]: extraName },
  });

  t.equal(await healthCheck(gateway.port), 0, 'the HEALTHCHECK passes against the running gateway');

  const ca = readFileSync(path.join(tree, 'certs/ca.pem'), 'utf8');
  const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: gateway.port, ca, servername: extraName }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', reject);
  });
  t.match(peer.subjectaltname, /DNS:portcullis\b/, 'the server certificate carries the configured name');
  t.match(peer.subjectaltname, new RegExp(`DNS:${extraName.replace(/\./g, '\\.')}`), 'and the name from the environment');

  const demo = { cert: readFileSync(path.join(tree, 'certs/agents/demo.pem'), 'utf8'), key: readFileSync(path.join(tree, 'certs/agents/demo-key.pem'), 'utf8') };
  const agent = new Agent({ connect: { ca, ...demo, servername: extraName } });
  t.teardown(() => agent.close());
  const ready = await request(`https://127.0.0.1:${gateway.port}/readyz`, { dispatcher: agent, headers: { host: `${extraName}:${gateway.port}` } });
  t.equal(ready.statusCode, 200, '/readyz: ready, reached by a server name as Host');
  t.equal(((await ready.body.json()) as { ready: boolean }).ready, true);
  if (gateway.metricsUrl === undefined) throw new Error('the container configuration has a metrics listener');
  const metrics = await request(gateway.metricsUrl);
  t.equal(metrics.statusCode, 200);
  t.match(await metrics.body.text(), /portcullis_upstream_up\{server="everything"\} 1/, 'metrics served from the runtime tree');

  await gateway.stop('SIGTERM');
  t.equal(gateway.child.exitCode, 0, 'SIGTERM stops it cleanly');
  t.not(await healthCheck(gateway.port), 0, 'the HEALTHCHECK fails once the gateway is gone');
});
