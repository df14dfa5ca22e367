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

  /** An agent connection carries it now (as long as it is open: a plain stream cannot be resumed). */
  get live(): boolean {
    return this.open;
  }

  /** Calls `listener` once the response is over, ended by either side. */
  onClose(listener: () => void): void {
    if (this.res.closed) listener();
    else this.res.once('close', listener);
  }

  send(message: WireMessage): boolean {
    return this.write(JSON.stringify(message));
  }

  /** One message event whose data is JSON text already; `id` lets the agent resume after it (Last-Event-ID). */
  write(data: string, id?: string): boolean {
    if (!this.open) return false;
    this.res.write(id === undefined ? `event: message\ndata: ${data}\n\n` : `event: message\nid: ${id}\ndata: ${data}\n\n`);
    return true;
  }

  /** The event a resumable stream starts with (MCP 2025-11-25): an id and the reconnection delay, no data. */
  prime(id: string, retryMs: number): boolean {
    if (!this.open) return false;
    this.res.write(`id: ${id}\nretry: ${retryMs}\ndata: \n\n`);
    return true;
  }

  end(): void {
    if (!this.open) return;
    this.closed = true;
    this.res.end();
  }
}
