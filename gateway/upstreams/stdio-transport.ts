/**
 * MCP over a child's stdin/stdout (newline-delimited JSON-RPC), as the SDK's
 * client transport, with less work per message: lines are checked with the
 * gateway's own JSON-RPC classifier (the pipeline validates what it forwards),
 * and everything sent in one event-loop turn goes to the child in one write,
 * so concurrent calls cost the child one read instead of one each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { classify } from '../protocol/jsonrpc.js';
import { LineSplitter } from './line-splitter.js';

export interface StdioLaunch {
  command: string;
  args: readonly string[];
  cwd: string;
  /** Exactly the child's environment. */
  env: Record<string, string>;
}

/** Longest line accepted from a child (the SDK's own default buffer bound): a longer one closes the connection. */
export const MAX_LINE_CHARS = 10 * 1024 * 1024;

/** How long close() waits for the child after ending its stdin, and again after SIGTERM. */
const EXIT_GRACE_MS = 2000;

export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  /** Lines sent during this event-loop turn, written together at its end. */
  private outgoing = '';
  private flushScheduled = false;
  private readonly lines = new LineSplitter(MAX_LINE_CHARS, (line) => this.receive(line));

  constructor(private readonly launch: StdioLaunch) {}

  start(): Promise<void> {
    if (this.child !== undefined) return Promise.reject(new Error('stdio transport already started'));
    return new Promise((resolve, reject) => {
      const child = spawn(this.launch.command, [...this.launch.args], {
        cwd: this.launch.cwd,
        env: this.launch.env,
        // A child's stderr may print anything, secrets included: it goes nowhere.
        stdio: ['pipe', 'pipe', 'ignore'],
        shell: false,
        windowsHide: true,
      });
      this.child = child;
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.once('spawn', () => resolve());
      child.once('close', () => {
        if (this.child === child) this.child = undefined;
        this.outgoing = '';
        this.lines.reset();
        this.onclose?.();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        try {
          this.lines.push(chunk);
        } catch (error) {
          this.onerror?.(error instanceof Error ? error : new Error(String(error)));
          void this.close();
        }
      });
    });
  }

  private receive(line: string): void {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.onerror?.(new Error('upstream sent a line that is not JSON'));
      return;
    }
    // Shape only; what a message means is checked where it is used.
    if (!classify(value).ok) {
      this.onerror?.(new Error('upstream sent a message that is not JSON-RPC 2.0'));
      return;
    }
    this.onmessage?.(value as JSONRPCMessage);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.child?.stdin?.writable !== true) return Promise.reject(new Error('Not connected'));
    this.outgoing += `${JSON.stringify(message)}\n`;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return Promise.resolve();
  }

  private flush(): void {
    this.flushScheduled = false;
    const text = this.outgoing;
    this.outgoing = '';
    if (text !== '' && this.child?.stdin?.writable === true) this.child.stdin.write(text);
  }

  /** Ends the child's stdin, then asks it to stop (SIGTERM), then kills it, waiting a little at each step. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.flush();
    this.child = undefined;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const settled = (): Promise<unknown> => Promise.race([exited, new Promise((resolve) => setTimeout(resolve, EXIT_GRACE_MS).unref())]);
    child.stdin?.end();
    await settled();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await settled();
    }
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
