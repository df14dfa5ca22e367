/**
 * What the bench connects to, all fronting the same MCP server
 * (server-everything): a direct connection, a plain proxy a user might pick
 * instead (supergateway, stateful Streamable HTTP), and Portcullis in its own
 * process (mTLS client certificate, /mcp/everything). Over stdio by default;
 * server-everything also runs as a Streamable HTTP server of its own for the
 * HTTP upstream figures. Every peer is driven by the same lean client
 * (lean-client.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { Pool } from 'undici';
import type { GatewayFailed, GatewayReady, GatewaySetup } from './controls.js';
import { LeanHttpClient, LeanStdioClient } from './lean-client.js';
import type { McpCaller } from './lean-client.js';

const require = createRequire(import.meta.url);

export interface Peer {
  client: McpCaller;
  /** The proxy's own process (not the upstream it runs), for its CPU cost; none for a direct connection. */
  proxyPid?: number;
  /** Where more sessions to the same peer connect (HTTP peers). */
  endpoint?: { url: URL; tls: Pool.Options['connect'] };
  close(): Promise<void>;
}

export function everythingServerEntry(): string {
  return require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
}

export async function connectDirect(): Promise<Peer> {
  const client = await LeanStdioClient.spawn(process.execPath, [everythingServerEntry(), 'stdio']);
  return { client, close: () => client.close() };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForListening(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} was not listening in time`);
    await new Promise((r) => setTimeout(r, 50)); // polling a child's port: no event to wait on
  }
}

/** supergateway (stateful Streamable HTTP) in front of the stdio server `command` runs. */
async function supergatewayOver(command: string): Promise<Peer> {
  const port = await freePort();
  const entry = require.resolve('supergateway/dist/index.js');
  const child = spawn(process.execPath, [
    entry, '--stdio', command, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none',
  ], { stdio: 'ignore' });
  return connectHttpPeer(new URL(`http://127.0.0.1:${port}/mcp`), {}, child,
    () => stopChild(child, () => child.kill('SIGTERM')), () => waitForListening(port, child, 20_000));
}

export function connectSupergateway(): Promise<Peer> {
  return supergatewayOver(`"${process.execPath}" "${everythingServerEntry()}" stdio`);
}

/** server-everything as a Streamable HTTP server on a port of its own: the HTTP upstream. */
export interface HttpUpstream {
  url: URL;
  stop(): Promise<void>;
}

export async function startEverythingHttp(): Promise<HttpUpstream> {
  const port = await freePort();
  const child = spawn(process.execPath, [everythingServerEntry(), 'streamableHttp'], { stdio: 'ignore', env: { ...process.env, PORT: String(port) } });
  const stop = (): Promise<void> => stopChild(child, () => child.kill('SIGTERM'));
  try {
    await waitForListening(port, child, 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: new URL(`http://127.0.0.1:${port}/mcp`), stop };
}

/** The lean client straight to an HTTP MCP server. */
export async function connectHttpDirect(url: URL): Promise<Peer> {
  const client = await LeanHttpClient.connect(url);
  return { client, endpoint: { url, tls: {} }, close: () => client.close() };
}

/**
 * A plain proxy in front of an HTTP MCP server: supergateway (stateful
 * Streamable HTTP) over mcp-remote, the usual way to put a stdio-only proxy
 * before a remote server (neither proxies HTTP to HTTP on its own). The
 * proxy's CPU is supergateway's alone.
 */
export function connectHttpProxy(upstream: URL): Promise<Peer> {
  return supergatewayOver(`"${process.execPath}" "${require.resolve('mcp-remote/dist/proxy.js')}" ${upstream.href} --transport http-only`);
}

const GATEWAY_START_MS = 60_000;

/** Starts bench/gateway-process.js with `setup` and waits for its URL and demo credentials. */
async function startGatewayProcess(setup: GatewaySetup): Promise<{ child: ChildProcess; ready: GatewayReady }> {
  const child = fork(new URL('./gateway-process.js', import.meta.url), [JSON.stringify(setup)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const ready = await new Promise<GatewayReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('gateway did not start in time')), GATEWAY_START_MS);
      child.once('message', (message: GatewayReady | GatewayFailed) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(message);
        else reject(new Error(`gateway failed to start: ${message.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gateway process exited with ${code}`));
      });
    });
    return { child, ready };
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
}

/** Asks a child to stop and waits until it is gone (SIGKILL after 10 s). */
function stopChild(child: ChildProcess, ask: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    ask();
  });
}

/** The gateway process closes cleanly (upstreams, temporary PKI) when asked over IPC. */
function stopGatewayProcess(child: ChildProcess): Promise<void> {
  return stopChild(child, () => (child.connected ? child.send('close') : child.kill('SIGTERM')));
}

export async function connectPortcullis(setup: GatewaySetup): Promise<Peer> {
  const { child, ready } = await startGatewayProcess(setup);
  return connectHttpPeer(new URL(`${ready.url}/mcp/everything`), { ca: ready.ca, cert: ready.cert, key: ready.key }, child, () => stopGatewayProcess(child));
}

/**
 * The lean client over Streamable HTTP to a proxy child process; on any
 * failure the child is stopped. Fairness: Portcullis and supergateway are
 * driven by exactly this code (same client, same undici pool defaults, same
 * calls); they differ only in the URL and in the TLS (client certificate)
 * that Portcullis requires, which the client pays for.
 */
async function connectHttpPeer(
  url: URL, tls: Pool.Options['connect'], child: ChildProcess, stop: () => Promise<void>, ready?: () => Promise<void>,
): Promise<Peer> {
  let client: LeanHttpClient;
  try {
    await ready?.();
    client = await LeanHttpClient.connect(url, tls);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    client,
    ...(child.pid === undefined ? {} : { proxyPid: child.pid }),
    endpoint: { url, tls },
    close: async () => {
      await client.close().catch(() => undefined);
      await stop();
    },
  };
}
