/**
 * The gateway's side of hosting the built-in orchestrator (agents/): the
 * `orchestrator` section turned into a run host whose workers each get a
 * short-lived client certificate from this gateway's own CA (SAN
 * spiffe://<trust-domain>/agent/<name>) and reach the gateway's listener
 * over mTLS like any outside agent. Also what `portcullis agents` needs
 * from the configuration when it runs the orchestrator itself.
 */
import { readFileSync } from 'node:fs';
import { builtinDefinitionsDir, DefinitionError, loadDefinitions } from '../../agents/catalog/load.js';
import type { AgentDefinition } from '../../agents/catalog/schema.js';
import { RunManager } from '../../agents/host/manager.js';
import { providersFromObject } from '../../agents/providers/config.js';
import type { ProvidersConfig } from '../../agents/providers/config.js';
import { ModelRouter } from '../../agents/providers/failover.js';
import type { ClientIdentity } from '../client/index.js';
import { ConfigError, resolveConfigPath } from '../config/load.js';
import { ORCHESTRATOR_DEFAULTS } from '../config/orchestrator-schema.js';
import { authMethods } from '../config/spine-schema.js';
import type { OrchestratorConfig } from '../config/orchestrator-schema.js';
import { configuredPki } from '../config/pki-files.js';
import type { PortcullisConfig } from '../config/sections.js';
import { createClientCert, validFor } from '../pki/certs.js';
import { pkiPaths } from '../pki/store.js';

const DAY_S = 86_400;

/** The configured section, else its defaults (an ordinary client of any gateway). */
export function orchestratorSection(config: PortcullisConfig): OrchestratorConfig {
  return config.orchestrator ?? ORCHESTRATOR_DEFAULTS;
}

/** The providers, each entry validated by its owner (agents/providers/config.ts). */
export function orchestratorProviders(config: PortcullisConfig): ProvidersConfig {
  try {
    return providersFromObject(orchestratorSection(config).providers);
  } catch (err) {
    throw new ConfigError(`portcullis.yaml: orchestrator.${(err as Error).message}`);
  }
}

/** The agent definitions: orchestrator.definitions, else the shipped ones. */
export function orchestratorDefinitions(config: PortcullisConfig): Map<string, AgentDefinition> {
  const dir = orchestratorSection(config).definitions;
  try {
    return loadDefinitions(dir === undefined ? builtinDefinitionsDir() : resolveConfigPath(config, dir));
  } catch (err) {
    if (err instanceof DefinitionError) throw new ConfigError(err.message);
    throw new ConfigError(`orchestrator.definitions: cannot read ${dir ?? builtinDefinitionsDir()} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Mints each worker's client certificate from this gateway's CA, valid for
 * identity_ttl_s. The CA key is read once, here: a missing one fails now.
 */
export function workerIdentities(config: PortcullisConfig): (agent: string) => Promise<ClientIdentity> {
  const section = orchestratorSection(config);
  const pki = configuredPki(config);
  if (pki.own && section.ca_key === undefined) throw new ConfigError('portcullis.yaml: orchestrator.ca_key is required when tls names its own files (the CA key that signs worker certificates)');
  const keyFile = section.ca_key === undefined ? pkiPaths(resolveConfigPath(config, config.tls.dir)).caKey : resolveConfigPath(config, section.ca_key);
  let ca: { certPem: string; keyPem: string };
  try {
    ca = { certPem: readFileSync(pki.ca, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  } catch (err) {
    throw new ConfigError(`orchestrator: cannot read the CA that signs worker certificates (${(err as NodeJS.ErrnoException).code ?? 'error'}: ${keyFile})`);
  }
  const days = section.identity_ttl_s / DAY_S;
  return async (agent) => {
    const pair = createClientCert(ca, config.tls.trust_domain, agent, validFor(days));
    return { kind: 'certificate', cert: pair.certPem, key: pair.keyPem };
  };
}

export interface ListenerAccess {
  /** The gateway's base URL (https://host:port); read when a worker connects. */
  url: () => string;
  /** PEM of the CA of the gateway's server certificate. */
  ca: string;
  /** The approval console's public URL (holds.console_url); default: this listener's /admin/console. */
  consoleUrl: string | undefined;
}

/** A run host for this configuration, reaching the gateway at `listener`. */
export function runHost(config: PortcullisConfig, listener: ListenerAccess, env: NodeJS.ProcessEnv = process.env): RunManager {
  const section = orchestratorSection(config);
  const identityFor = workerIdentities(config);
  return new RunManager({
    definitions: orchestratorDefinitions(config),
    router: new ModelRouter(orchestratorProviders(config), { env }),
    gateway: {
      get url() {
        return `${listener.url()}/mcp`;
      },
      ca: listener.ca,
      identityFor,
      get consoleUrl() {
        return listener.consoleUrl ?? `${listener.url()}/admin/console`;
      },
    },
    runsDir: resolveConfigPath(config, section.runs_dir),
    concurrency: section.concurrency,
    maxRuns: section.max_runs,
    holdPollMs: section.hold_poll_ms,
  });
}

/**
 * The host `portcullis start` runs when the orchestrator section is there
 * (undefined without it). Its workers are agents on this listener's mTLS:
 * a listener without mtls cannot host them.
 */
export function hostedRuns(config: PortcullisConfig, listener: ListenerAccess): RunManager | undefined {
  if (config.orchestrator === undefined) return undefined;
  if (!authMethods(config.listen).includes('mtls')) throw new ConfigError('portcullis.yaml: the orchestrator section needs mtls in listen.auth (its workers connect with client certificates)');
  return runHost(config, listener);
}
