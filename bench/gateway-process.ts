/**
 * Child process: one Portcullis gateway for the bench, in its own process
 * (like supergateway) so the load generator does not share its event loop.
 * argv[2] is a JSON GatewaySetup. Reports { url, ca, cert, key } of a fresh
 * development PKI (agent "demo") over IPC; closes on "close" or when the
 * parent goes away.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configFromObject } from '../gateway/config/load.js';
import { pkiPaths } from '../gateway/pki/store.js';
import { startGateway } from '../gateway/server.js';
import type { GatewayFailed, GatewayReady, GatewaySetup } from './controls.js';
import type { PolicyDecider } from '../gateway/policy/engine/decision.js';
import { allowAllDecider, benchDecider, TRUST_DOMAIN, withoutResultInspection } from './policy.js';
import { everythingServerEntry } from './peers.js';

function deciderFor(setup: GatewaySetup): PolicyDecider {
  if (setup.policy === 'allow-all') return allowAllDecider;
  return setup.inspectResults ? benchDecider() : withoutResultInspection(benchDecider());
}

async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2] ?? '') as GatewaySetup;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bench-'));
  try {
    await serve(setup, dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function serve(setup: GatewaySetup, dir: string): Promise<void> {
  const config = configFromObject(
    {
      listen: { port: 0 },
      tls: { dir: 'certs', trust_domain: TRUST_DOMAIN },
      upstreams: { everything: { stdio: { command: 'node', args: [everythingServerEntry(), 'stdio'] } } },
      ...setup.sections,
    },
    dir,
  );
  const gateway = await startGateway({
    config,
    decider: deciderFor(setup),
    log: () => undefined,
  });
  const agent = gateway.createdAgent;
  if (agent === undefined) {
    await gateway.close();
    throw new Error('the gateway did not create a development PKI');
  }
  let closed = false;
  const shutdown = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'close') void shutdown();
  });
  process.on('disconnect', () => void shutdown());
  const ready: GatewayReady = {
    type: 'ready',
    url: gateway.url,
    ca: readFileSync(pkiPaths(path.join(dir, 'certs')).caCert, 'utf8'),
    cert: readFileSync(agent.files.cert, 'utf8'),
    key: readFileSync(agent.files.key, 'utf8'),
  };
  process.send?.(ready);
}

main().catch((err: unknown) => {
  const failed: GatewayFailed = { type: 'error', message: err instanceof Error ? err.message : String(err) };
  process.send?.(failed);
  process.exitCode = 1;
});
