/**
 * The transport for one configured upstream. A stdio child gets exactly the
 * environment the config lists: nothing of the gateway's own environment
 * (not even PATH or HOME) unless named in `env_allow`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { HttpUpstreamConfig, StdioUpstreamConfig } from './config.js';
import { StdioTransport } from './stdio-transport.js';

export class UpstreamConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamConfigError';
  }
}

/** The child's environment: the allowlisted variables the gateway has, then the literals. */
export function childEnvironment(config: StdioUpstreamConfig, parentEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of config.env_allow) {
    const value = parentEnv[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...config.env };
}

export function stdioTransport(config: StdioUpstreamConfig, baseDir: string): StdioTransport {
  for (const dir of config.ensure_dirs) mkdirSync(path.resolve(baseDir, dir), { recursive: true });
  return new StdioTransport({
    // "node" is the Node.js running the gateway: no PATH lookup, no npx, no network.
    command: config.command === 'node' ? process.execPath : config.command,
    args: config.args,
    cwd: path.resolve(baseDir, config.cwd ?? '.'),
    env: childEnvironment(config),
  });
}

/** Header values, with secrets read from the gateway's environment at connect time. */
export function upstreamHeaders(name: string, config: HttpUpstreamConfig, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(config.headers)) {
    if (typeof value === 'string') {
      headers[header] = value;
      continue;
    }
    const secret = env[value.env];
    if (secret === undefined) {
      throw new UpstreamConfigError(`upstream "${name}": header ${header} needs environment variable ${value.env}, which is not set`);
    }
    headers[header] = `${value.prefix ?? ''}${secret}`;
  }
  return headers;
}

/** The id of one of the gateway's requests (request-lane.ts numbers them), read from the start of a POST body. */
const GATEWAY_REQUEST_ID = /^\{"jsonrpc":"2\.0","id":"(portcullis-\d+)"/;

/**
 * A Streamable HTTP client transport that tells `streamed` which of the
 * gateway's requests the upstream answers with an event stream (the agent's
 * answer is then one too).
 */
export function httpTransport(name: string, config: HttpUpstreamConfig, streamed: (id: string) => void = () => undefined): Transport {
  const watching: typeof fetch = async (url, init) => {
    const response = await fetch(url, init);
    if (init?.method === 'POST' && typeof init.body === 'string' && (response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const id = GATEWAY_REQUEST_ID.exec(init.body.slice(0, 64))?.[1];
      if (id !== undefined) streamed(id);
    }
    return response;
  };
  return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: upstreamHeaders(name, config) }, fetch: watching });
}
