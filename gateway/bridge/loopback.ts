/**
 * `portcullis connect --listen 127.0.0.1:PORT`: a Streamable HTTP endpoint
 * on loopback for clients that only speak HTTP. Each request (POST, GET,
 * DELETE) goes to the gateway with the agent's identity attached and the
 * MCP headers the transport defines; the answer (JSON or an event stream)
 * streams back as it comes. This listener holds credentials, so a web page
 * must not reach it through DNS rebinding: it binds to loopback only and
 * checks Host and Origin as the gateway does (protocol/host-origin.ts).
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { ERRORS, GatewayError, rpcError } from '../errors.js';
import type { ErrorName } from '../errors.js';
import { HostOriginGuard, hostGivenOnce } from '../protocol/host-origin.js';
import { connectionFailure, gatewayRefusal } from './failure.js';
import type { FailureReporter } from './failure.js';
import type { GatewayLink } from './link.js';

/** Request headers of the Streamable HTTP transport, passed to the gateway; nothing else is (no Origin, no credentials). */
const REQUEST_HEADERS = ['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'];
/** Answer headers passed back to the client. */
const ANSWER_HEADERS = ['content-type', 'cache-control', 'mcp-session-id', 'mcp-protocol-version', 'allow', 'retry-after'];
const METHODS = new Set(['POST', 'GET', 'DELETE']);

/** Hosts `--listen` accepts: the bridge serves this machine only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function answerError(res: ServerResponse, name: ErrorName, detail?: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: rpcError(name, detail) });
  res.writeHead(ERRORS[name].http, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }).end(body);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function picked(headers: Record<string, string | string[] | undefined>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = firstHeader(headers[name]);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export class LoopbackBridge {
  private readonly server = http.createServer((req, res) => void this.serve(req, res));
  private guard: HostOriginGuard | undefined;

  constructor(
    private readonly link: GatewayLink,
    private readonly report: FailureReporter,
  ) {}

  /** Listens on `host:port` (loopback only); resolves with the local MCP URL (the gateway URL's path). */
  async listen(host: string, port: number): Promise<URL> {
    if (!isLoopbackHost(host)) throw new Error(`--listen must name a loopback address (127.0.0.1, ::1 or localhost), not ${host}`);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const bound = (this.server.address() as AddressInfo).port;
    this.guard = new HostOriginGuard(bound, [], []);
    const shown = host.includes(':') ? `[${host}]` : host;
    return new URL(this.link.url.pathname, `http://${shown}:${bound}`);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.guard === undefined) throw new GatewayError('internalError', 'not listening');
      if (!hostGivenOnce(req.rawHeaders)) throw new GatewayError('forbiddenHost', 'Host given more than once');
      this.guard.check(req.headers.host, firstHeader(req.headers.origin));
      if (new URL(req.url ?? '/', 'http://bridge').pathname !== this.link.url.pathname) throw new GatewayError('notFound');
      if (!METHODS.has(req.method ?? '')) throw new GatewayError('methodNotAllowed');
    } catch (err) {
      const refusal = err instanceof GatewayError ? err : new GatewayError('internalError');
      answerError(res, refusal.kind, refusal.detail, refusal.kind === 'methodNotAllowed' ? { allow: 'GET, POST, DELETE' } : {});
      req.resume();
      return;
    }
    await this.relay(req, res);
  }

  /** One request to the gateway and its answer back, streamed both ways; the client leaving ends the gateway request. */
  private async relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const method = req.method as 'POST' | 'GET' | 'DELETE';
    let answer: Awaited<ReturnType<typeof request>>;
    try {
      answer = await request(this.link.url, {
        method,
        headers: { ...picked(req.headers, REQUEST_HEADERS), ...this.link.headers },
        body: method === 'POST' ? req : null,
        dispatcher: this.link.dispatcher,
        signal: abort.signal,
      });
    } catch (err) {
      if (abort.signal.aborted) return;
      const reason = connectionFailure(err, this.link.url) ?? 'the gateway could not be reached';
      this.report.failed(reason);
      answerError(res, 'gatewayUnreachable', reason);
      return;
    }
    if (answer.statusCode === 401 || answer.statusCode === 403) {
      const body = await answer.body.text();
      this.report.failed(gatewayRefusal(answer.statusCode, body));
      res.writeHead(answer.statusCode, picked(answer.headers, ANSWER_HEADERS)).end(body);
      return;
    }
    this.report.served(this.link.url);
    res.writeHead(answer.statusCode, picked(answer.headers, ANSWER_HEADERS));
    res.flushHeaders();
    // An event stream ends when either side goes: the client (abort above) or the gateway.
    await pipeline(answer.body, res).catch(() => res.destroy());
  }
}
