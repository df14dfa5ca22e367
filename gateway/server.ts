/**
 * Composes and starts the gateway: configuration, PKI, policy, upstreams,
 * audit trail, metrics, the MCP endpoints and the HTTPS edge. close() is idempotent.
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { AuditLog, RefusalRecorder, createCheckpointSigner } from './audit/index.js';
import { ConfigError, loadConfigFile, resolveConfigPath } from './config/load.js';
import { authMethods } from './config/spine-schema.js';
import type { PortcullisConfig } from './config/sections.js';
import { buildEdge, listenerUrl } from './edge/app.js';
import { createLogger, logSink } from './edge/logger.js';
import type { LogSink } from './util/log.js';
import { GatewayMetrics, serveMetrics, type MetricsServer } from './metrics/index.js';
import { adminHoldsPlugin } from './edge/admin-holds.js';
import { adminMetricsPlugin } from './edge/admin-metrics.js';
import { adminRunsPlugin } from './edge/admin-runs.js';
import { adminEvidencePlugin } from './edge/admin-evidence.js';
import { hostedReports, type ReportHost } from './reports/host.js';
import type { RunsControl } from './edge/admin-runs.js';
import { runsControl } from './orchestrator/control.js';
import { hostedRuns, workerIdentities } from './orchestrator/host.js';
import { listenerAuthenticator, mtlsAuthenticator } from './edge/authenticate.js';
import type { BearerAuthenticator } from './edge/authenticate.js';
import { approverAuthenticator } from './holds/approver-auth.js';
import { type Enforcement, enforcementFromConfig } from './pipeline/enforcement.js';
import { JwtAuthenticator, verificationKey } from './identity/jwt.js';
import { OAuthAuthenticator } from './identity/oauth.js';
import { RevocationList } from './identity/revocation.js';
import { shareRevocations } from './identity/revocation-sharing.js';
import { openState, replicaIdOf } from './state/open.js';
import { SharedRecords } from './state/records.js';
import { McpHttp } from './mcp/endpoint.js';
import { relayer } from './mcp/relay.js';
import { ToolCatalog } from './upstreams/tool-catalog.js';
import type { Services } from './pipeline/context.js';
import { STAGES } from './pipeline/stages.js';
import { configuredPki, namesMissingFrom, serverNames } from './config/pki-files.js';
import { ensureIdentityList, hasPki, initPki, issueAgent, pkiPaths } from './pki/store.js';
import type { AgentFiles } from './pki/store.js';
import type { PolicyDecider } from './policy/engine/decision.js';
import { PolicyReloader, policyStatus } from './policy/reload.js';
import { policySource } from './policy/config.js';
import type { ConfiguredSource } from './policy/config.js';
import { fileSource } from './policy/source/source.js';
import { startShadow } from './pipeline/shadow.js';
import { writeFileAtomic } from './util/atomic-write.js';
import { UpstreamRegistry } from './upstreams/registry.js';


const here = path.dirname(fileURLToPath(import.meta.url));

/** The package root, where the default portcullis.yaml and policies/ live (this file is gateway/ or dist/gateway/). */
export const PACKAGE_ROOT = path.resolve(here, path.basename(path.dirname(here)) === 'dist' ? '../..' : '..');

/** The config file `start` uses when none is given: ./portcullis.yaml, else the packaged default. */
export function defaultConfigFile(cwd = process.cwd()): string {
  const local = path.join(cwd, 'portcullis.yaml');
  return existsSync(local) ? local : path.join(PACKAGE_ROOT, 'portcullis.yaml');
}

/**
 * The policy folder compiled to WebAssembly by the project's compiler and
 * loaded in the engine; reloaded when the folder changes. Throws when the
 * policy cannot run: the gateway does not start without one.
 */
export async function loadPolicyFolder(dir: string, log: LogSink = logSink(createLogger({ level: 'info' }))): Promise<PolicyReloader> {
  return startPolicy({ source: fileSource({ kind: 'folder', path: dir }), options: {} }, log);
}

/** Starts the policy from the `policy` section (folder, bundle or git; tests, signature keys). */
async function startPolicy(source: ConfiguredSource, log: LogSink, metrics?: GatewayMetrics): Promise<PolicyReloader> {
  const reloader = new PolicyReloader(source.source, { ...source.options, onFailure: (failure) => log('warn', 'policy decision failed closed', { ...failure }) });
  reloader.on('reload', (event: { result: string; revision?: string; reason?: string }) => {
    if (event.result !== 'unchanged') log(event.result === 'success' ? 'info' : 'error', `policy reload ${event.result}`, { ...event });
    if (metrics === undefined) return;
    if (event.result !== 'unchanged') metrics.policyReload(event.result === 'success');
    if (event.result === 'success' && event.revision !== undefined) metrics.policyRevision(event.revision);
  });
  await reloader.start();
  return reloader;
}

/** Writes the policy status file (`portcullis policy status`) now and after every reload attempt. */
function reportPolicyStatus(file: string, live: PolicyReloader, shadow: PolicyReloader | undefined, log: LogSink): void {
  const write = (): void => {
    try {
      writeFileAtomic(file, `${JSON.stringify(policyStatus(live, shadow), null, 2)}\n`);
    } catch {
      log('error', 'policy status file not written', { file });
    }
  };
  live.on('reload', write);
  shadow?.on('reload', write);
  write();
}

export interface StartOptions {
  config?: PortcullisConfig;
  configFile?: string;
  /** A decider instead of compiling config.policy.dir (tests with their own policy data). */
  decider?: PolicyDecider;
  /** A log function instead of the gateway's sanitizing pino logger (fastify then logs nothing itself). */
  log?: LogSink;
  /** Where the pino logger writes (default stderr); tests capture lines here. */
  logDestination?: NodeJS.WritableStream;
}

export interface RunningGateway {
  config: PortcullisConfig;
  url: string;
  port: number;
  /** Set when a development PKI was created on this start. */
  createdAgent?: { name: string; files: AgentFiles };
  upstreams: UpstreamRegistry;
  decider: PolicyDecider;
  /** Rate limiter, holds and tool pins (their events feed audit and metrics). */
  enforcement: Enforcement;
  metrics: GatewayMetrics;
  /** URL of the /metrics listener, when `metrics.listen` is configured. */
  metricsUrl?: string;
  /** The audit trail, when the `audit` section is configured. */
  audit?: AuditLog;
  /** The built-in orchestrator's runs, when the `orchestrator` section is configured. */
  runs?: RunsControl;
  /** The scheduled compliance reports, when the `reports` section is configured. */
  reports?: ReportHost;
  close(): Promise<void>;
}

/** The agent a fresh development PKI gets a certificate for (the default policy knows it). */
export const DEFAULT_AGENT = 'demo';

interface Tls {
  key: string;
  cert: string;
  ca: string;
  crlFile: string | undefined;
  identitiesFile: string | undefined;
}

function tlsMaterial(config: PortcullisConfig, names: readonly string[]): { tls: Tls; createdAgent?: RunningGateway['createdAgent'] } {
  const pki = configuredPki(config);
  let createdAgent: RunningGateway['createdAgent'];
  if (!pki.own) {
    const paths = pkiPaths(resolveConfigPath(config, config.tls.dir));
    if (!hasPki(paths)) {
      initPki(paths, config.tls.trust_domain, { serverNames: names });
      createdAgent = { name: DEFAULT_AGENT, files: issueAgent(paths, config.tls.trust_domain, DEFAULT_AGENT) };
    }
  }
  const read = (file: string): string => readFileSync(file, 'utf8');
  const material = { key: read(pki.serverKey), cert: read(pki.serverCert), ca: read(pki.ca), crlFile: pki.crl, identitiesFile: pki.revokedIdentities };
  // A PKI from before identity revocation has no list yet: start with an empty one (a list that is there must verify).
  if (material.identitiesFile !== undefined) ensureIdentityList({ file: material.identitiesFile, keyPem: material.key, certPem: material.cert });
  return createdAgent === undefined ? { tls: material } : { tls: material, createdAgent };
}

/**
 * Opens the audit trail of the `audit` section; checkpoints are signed with
 * the gateway's TLS key. Without the section nothing is audited, said loudly.
 */
async function openAudit(config: PortcullisConfig, tlsKey: string, metrics: GatewayMetrics, log: LogSink): Promise<AuditLog | undefined> {
  if (config.audit === undefined) {
    log('warn', 'no audit section in the configuration: calls are not audited');
    return undefined;
  }
  return AuditLog.open({
    config: { ...config.audit, dir: resolveConfigPath(config, config.audit.dir) },
    signer: await createCheckpointSigner(createPrivateKey(tlsKey)),
    observer: metrics.auditObserver,
  });
}

export async function startGateway(options: StartOptions = {}): Promise<RunningGateway> {
  const config = options.config ?? loadConfigFile(options.configFile ?? defaultConfigFile());
  const methods = authMethods(config.listen);
  if (methods.includes('oauth') && config.oauth === undefined) throw new ConfigError('portcullis.yaml: listen.auth names oauth but there is no oauth section');
  const logger = options.log === undefined ? createLogger(config.log, options.logDestination) : undefined;
  const log = options.log ?? logSink(logger as NonNullable<typeof logger>);
  const names = serverNames(config);
  const { tls, createdAgent } = tlsMaterial(config, names);
  const uncovered = namesMissingFrom(tls.cert, names);
  // An existing PKI is never replaced behind the operator's back: clients checking those names will fail, say why.
  if (uncovered.length > 0) log('warn', 'the server certificate does not carry every configured server name', { missing: uncovered });
  // The orchestrator's workers reach this listener once it listens; its configuration fails here, before anything opens.
  let listening = '';
  const runs = hostedRuns(config, { url: () => listening, ca: tls.ca, consoleUrl: config.holds.console_url });
  // Each scheduled reporter reads the evidence through this listener with its own certificate from this CA.
  const reports = hostedReports(config, { url: () => listening, ca: tls.ca, serverKey: tls.key, mint: (name) => workerIdentities(config)(name), log });
  const metrics = new GatewayMetrics(config.metrics);
  const audit = await openAudit(config, tls.key, metrics, log);
  const reloader =
    options.decider === undefined
      ? await startPolicy(policySource(config.policy, (p) => resolveConfigPath(config, p)), log, metrics).catch(async (err: unknown) => {
          await audit?.close();
          throw err;
        })
      : undefined;
  reloader?.watch();
  const candidate = reloader === undefined ? undefined : await startShadow(config.policy, (p) => resolveConfigPath(config, p), { metrics, ...(audit === undefined ? {} : { audit }), log });
  if (reloader !== undefined) reportPolicyStatus(resolveConfigPath(config, config.policy.status_file), reloader, candidate?.reloader, log);
  const decider: PolicyDecider = options.decider ?? (reloader as PolicyReloader);
  metrics.policyRevision(decider.revision);

  let mcp: McpHttp | undefined;
  const upstreams = new UpstreamRegistry(config.upstreams, config.base_dir, {
    onServerRequest: (upstream, request, signal, scope) => {
      if (mcp === undefined) return Promise.reject(new Error('gateway not ready'));
      return mcp.onServerRequest(upstream, request, signal, scope);
    },
    onNotification: (upstream, notification, scope) => mcp?.onNotification(upstream, notification, scope),
    // Called only once upstreams run (after enforcement exists): each connection's tool listing, checked against the pins.
    onToolsListed: (upstream, tools, lane) => enforcement.pins.observe(upstream, tools, lane),
    onLanes: (upstream, open) => metrics.upstreamLanes(upstream, open),
    log: (level, message) => log(level, message),
  });
  // Shared state (state.backend redis): rate limits, holds and revocations hold across replicas.
  const replica = replicaIdOf(config.state);
  // Replicas keep a chain each: every start stamps it with the replica's id (docs/deploy.md).
  if (config.state.backend !== 'memory') {
    audit?.record({ type: 'event', control: 'replica', event: 'started', details: { replica } }).catch(() => log('error', 'audit record of the replica start not written'));
  }
  const state = await openState(config.state, log);
  metrics.stateAvailable(state?.available ?? true);
  state?.onAvailability((available) => metrics.stateAvailable(available));
  const enforcement = enforcementFromConfig(config, log, state);
  enforcement.reportTo(metrics);
  if (audit !== undefined) enforcement.auditTo(audit, log);
  const refusals = new RefusalRecorder(
    audit,
    (reason) => metrics.refusal(reason),
    () => log('error', 'audit record of a refusal not written'),
  );
  const services: Services = {
    config,
    decider,
    upstreams,
    tools: new ToolCatalog(upstreams),
    enforcement,
    ...(audit === undefined ? {} : { audit }),
    metrics,
    log,
    refusals,
    ...(candidate === undefined ? {} : { shadow: candidate.shadow }),
    relay: relayer(STAGES, () => services),
  };
  mcp = new McpHttp(STAGES, services);

  const oauth = methods.includes('oauth') && config.oauth !== undefined ? new OAuthAuthenticator(config.oauth, config.tls.trust_domain, config.agents) : undefined;
  const bearer: BearerAuthenticator[] = [];
  if (oauth !== undefined) bearer.push(oauth);
  if (methods.includes('jwt')) {
    bearer.push(new JwtAuthenticator(config.jwt, verificationKey(config.jwt, (p) => resolveConfigPath(config, p), tls.cert), config.tls.trust_domain, config.agents));
  }
  const authenticate = listenerAuthenticator({ ...(methods.includes('mtls') ? { mtls: mtlsAuthenticator(config.tls.trust_domain, config.agents) } : {}), bearer });
  // Client certificate serials matter on mTLS listeners only; identities and token ids on all.
  const revocation = new RevocationList({
    ...(methods.includes('mtls') && tls.crlFile !== undefined ? { crl: { file: tls.crlFile, caCertPem: tls.ca } } : {}),
    ...(tls.identitiesFile === undefined ? {} : { identities: { file: tls.identitiesFile, signerCertPem: tls.cert } }),
    onProblem: (message) => log('error', message),
  });
  revocation.watch();
  const unshareRevocations = state === undefined ? undefined : shareRevocations(revocation, new SharedRecords(state, 'revocations'), replica, log);
  let app: FastifyInstance | undefined;
  let metricsServer: MetricsServer | undefined;
  const httpHandlers = mcp;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // First: cancelling runs sends their cancellations through the gateway while it still serves them.
      await runs?.close();
      await reports?.close();
      enforcement.close();
      httpHandlers.close();
      refusals.close();
      await app?.close();
      unshareRevocations?.();
      revocation.close();
      await metricsServer?.close();
      await upstreams.closeAll();
      reloader?.close();
      candidate?.reloader.close();
      // Last: the final checkpoint covers every call that finished.
      await audit?.close();
      await state?.close();
    })();
    return closing;
  };
  try {
    await upstreams.startAll();
    for (const health of upstreams.health()) metrics.upstreamUp(health.name, health.state === 'ready');
    app = await buildEdge({
      listen: config.listen,
      serverNames: names,
      tls,
      revocation,
      authenticate,
      ...(oauth === undefined ? {} : { oauth }),
      refusals,
      mcp: httpHandlers,
      knownServer: (name) => upstreams.get(name) !== undefined,
      readiness: () => ({
        ready: upstreams.allReady() && (state?.available ?? true),
        replica,
        state: { backend: config.state.backend, available: state?.available ?? true },
        policy: decider.revision,
        ...(reloader ? { policy_status: reloader.describe() } : {}),
        upstreams: upstreams.health(),
      }),
      log,
      ...(logger === undefined ? {} : { logger }),
    });
    const admins = approverAuthenticator(config.tls.trust_domain, config.holds.approvers);
    await app.register(adminHoldsPlugin, { holds: enforcement.holds, pins: enforcement.pins, authenticate: admins });
    // Without a listener of its own, /metrics is served to admins only.
    if (config.metrics.enabled && config.metrics.listen === undefined) await app.register(adminMetricsPlugin, { metrics, authenticate: admins });
    await app.register(adminRunsPlugin, { runs: runs === undefined ? undefined : runsControl(runs), authenticate: admins });
    await app.register(adminEvidencePlugin, { config, audit, holds: enforcement.holds, metrics, revision: () => decider.revision, authenticate: admins });
    await app.listen({ host: config.listen.host, port: config.listen.port });
    const metricsListen = config.metrics.listen;
    if (config.metrics.enabled && metricsListen !== undefined) metricsServer = await serveMetrics(metrics, { ...metricsListen, path: config.metrics.path });
  } catch (err) {
    await close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
  const running: RunningGateway = { config, url: listenerUrl(config.listen.host, port), port, upstreams, decider, enforcement, metrics, close };
  listening = running.url;
  if (createdAgent !== undefined) running.createdAgent = createdAgent;
  if (metricsServer !== undefined) running.metricsUrl = metricsServer.url;
  if (audit !== undefined) running.audit = audit;
  if (runs !== undefined) running.runs = runsControl(runs);
  if (reports !== undefined) {
    reports.start();
    running.reports = reports;
  }
  return running;
}
