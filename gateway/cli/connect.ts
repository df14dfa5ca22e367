/**
 * `portcullis connect <gateway-url>`: the local bridge (gateway/bridge) that
 * holds an agent's identity for a stock MCP client: over stdio (the client
 * launches it as its server command) or, with --listen, as a Streamable HTTP
 * endpoint on loopback. Resolves the identity from the command line or the
 * development PKI, then runs until the client leaves or a signal arrives.
 */
import { readFileSync } from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { FailureReporter } from '../bridge/failure.js';
import { certificateProblem, GatewayLink } from '../bridge/link.js';
import type { BridgeCredentials } from '../bridge/link.js';
import { LoopbackBridge } from '../bridge/loopback.js';
import { StdioRelay } from '../bridge/stdio-relay.js';
import { parse, stringOption, UsageError } from './args.js';
import type { ParsedCommand } from './args.js';

export const USAGE = `usage: portcullis connect <gateway-url> <identity> [--listen 127.0.0.1:PORT]
  A local bridge that presents an agent's identity to the gateway for a stock
  MCP client. Without --listen it speaks MCP on stdin/stdout: give it to the
  client as its server command. With --listen it serves Streamable HTTP on
  that loopback address (at the gateway URL's path) and prints the URL.
identity (one of):
  --agent <name> [--config portcullis.yaml]   the development PKI's certs/agents/<name>.pem, -key.pem and ca.pem
  --cert <file> --key <file> [--ca <file>]    a client certificate and key (PEM)
  --token-file <file> [--ca <file>]           a bearer token (from "portcullis token issue")
  --ca <file>: the CA that signed the gateway's certificate (default: the system's roots; with --agent: the PKI's ca.pem)`;

interface Identity {
  credentials: BridgeCredentials;
  ca: string | undefined;
  /** The certificate file, to name in messages. */
  certFile?: string;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read the ${what} ${file}`);
  }
}

/** The development PKI's files for `agent`; the configuration is loaded only here (a client launches the bridge often: keep it light). */
async function agentIdentity(agent: string, configOption: string | undefined, ca: string | undefined): Promise<Identity> {
  const [{ loadConfigFile, resolveConfigPath }, { configuredPki }, { agentFiles, pkiPaths }] = await Promise.all([
    import('../config/load.js'),
    import('../config/pki-files.js'),
    import('../pki/store.js'),
  ]);
  const config = loadConfigFile(configOption ?? (await import('../server.js')).defaultConfigFile());
  let files: { cert: string; key: string };
  try {
    files = agentFiles(pkiPaths(resolveConfigPath(config, config.tls.dir)), agent);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : 'invalid agent name');
  }
  const certPem = readPem(files.cert, `certificate of agent "${agent}" (portcullis certs issue ${agent})`);
  return { credentials: { kind: 'certificate', cert: certPem, key: readPem(files.key, 'private key') }, ca: ca ?? readPem(configuredPki(config).ca, 'CA certificate'), certFile: files.cert };
}

async function identityOf(parsed: ParsedCommand): Promise<Identity> {
  const agent = stringOption(parsed, 'agent');
  const cert = stringOption(parsed, 'cert');
  const key = stringOption(parsed, 'key');
  const tokenFile = stringOption(parsed, 'token-file');
  const caFile = stringOption(parsed, 'ca');
  const given = [agent, cert ?? key, tokenFile].filter((option) => option !== undefined).length;
  if (given !== 1) throw new UsageError(`give exactly one identity: --agent, --cert and --key, or --token-file\n${USAGE}`);
  if (stringOption(parsed, 'config') !== undefined && agent === undefined) throw new UsageError('--config only goes with --agent');
  const ca = caFile === undefined ? undefined : readPem(caFile, 'CA certificate');
  if (agent !== undefined) return agentIdentity(agent, stringOption(parsed, 'config'), ca);
  if (tokenFile !== undefined) {
    const token = readPem(tokenFile, 'token file').trim();
    if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError(`${tokenFile} must hold one bearer token`);
    return { credentials: { kind: 'token', token }, ca };
  }
  if (cert === undefined || key === undefined) throw new UsageError('--cert and --key go together');
  return { credentials: { kind: 'certificate', cert: readPem(cert, 'client certificate'), key: readPem(key, 'private key') }, ca, certFile: cert };
}

function gatewayUrl(positionals: string[]): URL {
  const [text, extra] = positionals;
  if (text === undefined || extra !== undefined) throw new UsageError(USAGE);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a URL: ${text}`);
  }
  // Credentials never cross plain HTTP.
  if (url.protocol !== 'https:') throw new UsageError('the gateway URL must be https://');
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') throw new UsageError('the gateway URL takes no user, query or fragment');
  return url;
}

/** `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`. */
function listenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) throw new UsageError('--listen takes HOST:PORT, e.g. 127.0.0.1:8765');
  return { host: (match[1] ?? match[2]) as string, port };
}

/** Resolves when SIGINT or SIGTERM arrives, or (stdio) when the client closes stdin. */
function untilStopped(stdin: boolean): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdin.off('end', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (stdin) process.stdin.once('end', stop);
  });
}

export async function run(args: string[]): Promise<number> {
  const parsed = parse(args, ['agent', 'cert', 'key', 'ca', 'token-file', 'config', 'listen']);
  const url = gatewayUrl(parsed.positionals);
  const identity = await identityOf(parsed);
  const listen = stringOption(parsed, 'listen');
  const address = listen === undefined ? undefined : listenAddress(listen);
  const report = new FailureReporter((line) => process.stderr.write(line));
  if (identity.credentials.kind === 'certificate') {
    const problem = certificateProblem(identity.credentials.cert);
    if (problem !== undefined) {
      report.failed(`${problem} (${identity.certFile ?? 'client certificate'})`);
      return 1;
    }
  }
  const link = new GatewayLink({ url, credentials: identity.credentials, ...(identity.ca === undefined ? {} : { ca: identity.ca }) });
  try {
    if (address === undefined) {
      const relay = new StdioRelay(new StdioServerTransport(), link, report);
      await relay.start();
      await untilStopped(true);
      await relay.close();
    } else {
      const bridge = new LoopbackBridge(link, report);
      let local: URL;
      try {
        local = await bridge.listen(address.host, address.port);
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : 'cannot listen');
      }
      process.stdout.write(`portcullis connect: ${local.href} -> ${url.href}\n`);
      await untilStopped(false);
      await bridge.close();
    }
  } finally {
    await link.close();
  }
  return 0;
}
