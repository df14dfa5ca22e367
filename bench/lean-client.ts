/**
 * The bench's load generator: a lean MCP client, the same for every peer.
 *
 * Why not the SDK client: over Streamable HTTP it spends about 0.55 ms of CPU
 * per call (WHATWG fetch streams, event-stream parsing, schema validation of
 * every result), more than either proxy it measures. On a 2-core machine the
 * load generator then sets the ceiling for every peer alike and the ratio
 * between proxies shrinks towards 1. This client does only what the protocol
 * needs: the initialize handshake, the session and protocol-version headers,
 * and JSON or event-stream answers matched by id. The test suite drives the
 * gateway with the stock SDK client; the bench measures the proxies.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Pool } from 'undici';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

type Json = Record<string, unknown>;

export interface McpCaller {
  /** The `result` of a JSON-RPC request; a JSON-RPC error is thrown. */
  request(method: string, params: Json): Promise<Json>;
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'portcullis-bench', version: '1.0.0' };

function initializeParams(): Json {
  return { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO };
}

/** The result of `answer`, or its error thrown with the message the peer gave. */
function resultOf(answer: Json): Json {
  const error = answer.error as { code?: unknown; message?: unknown } | undefined;
  if (error !== undefined) throw new Error(`JSON-RPC error ${String(error.code)}: ${String(error.message)}`);
  if (typeof answer.result !== 'object' || answer.result === null) throw new Error('answer without a result');
  return answer.result as Json;
}

/** Streamable HTTP over one undici pool (keep-alive), for any origin and TLS setting. */
export class LeanHttpClient implements McpCaller {
  private nextId = 1;
  private sessionId: string | undefined;
  private protocolVersion = LATEST_PROTOCOL_VERSION;

  private constructor(
    private readonly pool: Pool,
    private readonly path: string,
    /** False when the pool is shared by several sessions (its owner closes it). */
    private readonly ownsPool: boolean,
  ) {}

  /** One session; over `shared` (a pool to url's origin) when given, else over a pool of its own. */
  static async connect(url: URL, connect: Pool.Options['connect'] = {}, shared?: Pool): Promise<LeanHttpClient> {
    const client = new LeanHttpClient(shared ?? new Pool(url.origin, { connect }), url.pathname, shared === undefined);
    try {
      const { result, sessionId } = await client.exchange('initialize', initializeParams());
      client.sessionId = sessionId;
      if (typeof result.protocolVersion === 'string') client.protocolVersion = result.protocolVersion;
      await client.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    } catch (err) {
      if (client.ownsPool) await client.pool.close();
      throw err;
    }
    return client;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': this.protocolVersion,
    };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    return headers;
  }

  private async post(message: Json): Promise<{ status: number; type: string; text: string; sessionId: string | undefined }> {
    const response = await this.pool.request({ path: this.path, method: 'POST', headers: this.headers(), body: JSON.stringify(message) });
    const text = await response.body.text();
    const header = (name: string): string | undefined => {
      const value = response.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    return { status: response.statusCode, type: header('content-type') ?? '', text, sessionId: header('mcp-session-id') };
  }

  private async exchange(method: string, params: Json): Promise<{ result: Json; sessionId: string | undefined }> {
    const id = this.nextId++;
    const response = await this.post({ jsonrpc: '2.0', id, method, params });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.text.slice(0, 200)}`);
    const answer = response.type.includes('text/event-stream') ? answerInEvents(response.text, id) : (JSON.parse(response.text) as Json);
    return { result: resultOf(answer), sessionId: response.sessionId };
  }

  async request(method: string, params: Json): Promise<Json> {
    return (await this.exchange(method, params)).result;
  }

  async close(): Promise<void> {
    if (this.sessionId !== undefined) {
      await this.pool.request({ path: this.path, method: 'DELETE', headers: this.headers() }).then((r) => r.body.dump(), () => undefined);
    }
    if (this.ownsPool) await this.pool.close();
  }
}

/** The answer to `id` among an event stream's `data:` lines (other messages, such as progress, are skipped). */
function answerInEvents(text: string, id: number): Json {
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    // A priming event (an event id, empty data) lets a resumable stream be picked up again: no message.
    if (data === '') continue;
    const message = JSON.parse(data) as Json;
    if (message.id === id && ('result' in message || 'error' in message)) return message;
  }
  throw new Error(`event stream ended without the answer to ${id}`);
}

/** Newline-delimited JSON-RPC over a child process's stdio: the direct path. */
export class LeanStdioClient implements McpCaller {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(answer: Json): void; reject(err: Error): void }>();
  private buffered = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.read(chunk));
    child.once('exit', (code) => {
      for (const { reject } of this.waiting.values()) reject(new Error(`server exited with ${code}`));
      this.waiting.clear();
    });
  }

  static async spawn(command: string, args: string[]): Promise<LeanStdioClient> {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] }) as unknown as ChildProcessWithoutNullStreams;
    const client = new LeanStdioClient(child);
    try {
      await client.request('initialize', initializeParams());
      client.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  private read(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      if (line.trim() === '') continue;
      const message = JSON.parse(line) as Json;
      if (typeof message.id !== 'number' || !('result' in message || 'error' in message)) continue;
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      waiter?.resolve(message);
    }
  }

  private write(message: Json): void {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  async request(method: string, params: Json): Promise<Json> {
    const id = this.nextId++;
    const answer = await new Promise<Json>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.write({ jsonrpc: '2.0', id, method, params });
    });
    return resultOf(answer);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
      this.child.kill('SIGTERM');
    });
  }
}
