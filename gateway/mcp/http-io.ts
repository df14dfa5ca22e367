/** Writing JSON-RPC answers and Server-Sent Events onto node:http responses. */
import type { ServerResponse } from 'node:http';
import { ERRORS, rpcError } from '../errors.js';
import type { ErrorName } from '../errors.js';
import type { RpcId } from '../protocol/jsonrpc.js';

export type WireMessage = Record<string, unknown>;

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An HTTP-level failure: the registered status with a JSON-RPC error body. */
export function writeHttpError(res: ServerResponse, name: ErrorName, id: RpcId | null = null, detail?: string, headers: Record<string, string> = {}): void {
  writeJson(res, ERRORS[name].http, { jsonrpc: '2.0', id, error: rpcError(name, detail) }, headers);
}

/** One open event stream. */
export class SseStream {
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    headers: Record<string, string>,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    });
    res.flushHeaders();
    res.on('close', () => {
      this.closed = true;
    });
  }

  get open(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  send(message: WireMessage): boolean {
    if (!this.open) return false;
    this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    return true;
  }

  end(): void {
    if (!this.open) return;
    this.closed = true;
    this.res.end();
  }
}
