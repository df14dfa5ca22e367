/** `portcullis start`: run the gateway until SIGINT/SIGTERM. */
import { existsSync } from 'node:fs';
import { resolveConfigPath } from '../config/load.js';
import { authMethods } from '../config/spine-schema.js';
import { agentFiles, pkiPaths } from '../pki/store.js';
import { DEFAULT_AGENT, startGateway } from '../server.js';
import { PolicyReloader } from '../policy/reload.js';
import { parse, stringOption } from './args.js';

export const USAGE = `usage: portcullis start [--config portcullis.yaml]
  runs the gateway until SIGINT or SIGTERM; SIGHUP reloads the policy.
  The configuration defaults to ./portcullis.yaml, else the packaged one.`;

export async function run(args: string[]): Promise<number> {
  const configFile = stringOption(parse(args, ['config']), 'config');
  const gateway = await startGateway(configFile === undefined ? {} : { configFile });
  const lines = [
    `Portcullis listening on ${gateway.url}`,
    `  MCP endpoints: ${gateway.url}/mcp (all servers) and ${gateway.upstreams.names().map((n) => `${gateway.url}/mcp/${n}`).join(', ')}`,
  ];
  const methods = authMethods(gateway.config.listen);
  if (methods.includes('mtls')) {
    const pkiDir = resolveConfigPath(gateway.config, gateway.config.tls.dir);
    const agent = agentFiles(pkiPaths(pkiDir), DEFAULT_AGENT);
    if (gateway.createdAgent !== undefined) lines.push(`  Created a development PKI in ${pkiDir}`);
    lines.push(
      existsSync(agent.cert)
        ? `  Connect with client certificate ${agent.cert} and key ${agent.key}, trusting ${pkiPaths(pkiDir).caCert}`
        : `  Connect with a client certificate from "portcullis certs issue <agent>", trusting ${pkiPaths(pkiDir).caCert}`,
    );
  }
  if (methods.includes('jwt')) lines.push('  Connect with "Authorization: Bearer <token>" from "portcullis token issue <agent>"');
  const oauth = gateway.config.oauth;
  if (methods.includes('oauth') && oauth !== undefined) lines.push(`  MCP clients sign in with OAuth at ${oauth.authorization_servers.join(', ')}`);
  if (gateway.metricsUrl !== undefined) lines.push(`  Metrics: ${gateway.metricsUrl}`);
  const audit = gateway.config.audit;
  lines.push(audit === undefined ? '  Audit: off (no audit section in the configuration)' : `  Audit trail: ${resolveConfigPath(gateway.config, audit.dir)}`);
  const orchestrator = gateway.config.orchestrator;
  if (orchestrator !== undefined) {
    lines.push(`  Orchestrator: start and cancel runs at ${gateway.url}/admin/runs (role operator), watch them at ${gateway.url}/admin/console; transcripts in ${resolveConfigPath(gateway.config, orchestrator.runs_dir)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  // SIGHUP forces a policy reload (compiled and tested off to the side, swapped in only if good).
  const reloadPolicy = (): void => {
    if (gateway.decider instanceof PolicyReloader) void gateway.decider.reload();
  };
  process.on('SIGHUP', reloadPolicy);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGHUP', reloadPolicy);
      void gateway.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
