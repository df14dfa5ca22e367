/**
 * The HTTP response to one POST. Answers go out as one JSON body when
 * nothing else needs saying; the first related message (progress, a server
 * request) upgrades the response to an event stream, as Streamable HTTP allows.
 */
import type { ServerResponse } from 'node:http';
import { SseStream, writeJson } from './http-io.js';
import type { WireMessage } from './http-io.js';
import type { RpcId } from '../protocol/jsonrpc.js';

export class PostExchange {
  private readonly waiting: Set<RpcId>;
  private readonly answers: WireMessage[] = [];
  private stream: SseStream | undefined;
  private finished = false;

  /** `ready`: answers known before anything is forwarded (invalid batch elements). */
  constructor(
    private readonly res: ServerResponse,
    requestIds: RpcId[],
    ready: WireMessage[],
    private readonly batch: boolean,
    private readonly headers: Record<string, string>,
  ) {
    this.waiting = new Set(requestIds);
    this.answers.push(...ready);
    if (this.waiting.size === 0) this.complete();
  }

  /** True while the agent is still connected and answers are outstanding. */
  get open(): boolean {
    return !this.finished && !this.res.destroyed;
  }

  /** Calls `listener` if the agent goes away before every answer was written. */
  onAbandoned(listener: () => void): void {
    this.res.on('close', () => {
      if (!this.finished) listener();
    });
  }

  /** Answers as an event stream from now on (answers already known go first); false when the agent is gone. */
  streamed(): boolean {
    if (!this.open) return false;
    if (this.stream === undefined) {
      this.stream = new SseStream(this.res, this.headers);
      for (const answer of this.answers.splice(0)) this.stream.send(answer);
    }
    return true;
  }

  /** A progress notification or server request belonging to one of this POST's requests. */
  push(message: WireMessage): boolean {
    return this.streamed() && (this.stream?.send(message) ?? false);
  }

  /** The answer to request `id`; the response completes when all are in. */
  answer(id: RpcId, message: WireMessage): void {
    if (!this.waiting.delete(id) || this.finished) return;
    if (this.stream !== undefined) this.stream.send(message);
    else this.answers.push(message);
    if (this.waiting.size === 0) this.complete();
  }

  private complete(): void {
    this.finished = true;
    if (this.stream !== undefined) this.stream.end();
    else writeJson(this.res, 200, this.batch ? this.answers : this.answers[0], this.headers);
  }
}
