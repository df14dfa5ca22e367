/**
 * The HTTP response to one POST. Answers go out as one JSON body when
 * nothing else needs saying; the first related message (progress, a server
 * request) upgrades the response to an event stream, as Streamable HTTP allows.
 * In a session that resumes streams, that event stream is resumable: an
 * agent whose connection breaks gets the rest with GET and Last-Event-ID,
 * and its calls run on meanwhile (resumable.ts).
 */
import type { ServerResponse } from 'node:http';
import { SseStream, writeJson } from './http-io.js';
import type { WireMessage } from './http-io.js';
import { ResumableStream } from './resumable.js';
import type { SessionEvents } from './resumable.js';
import type { RpcId } from '../protocol/jsonrpc.js';

/** How a session's streams resume: its event store, and whether its agent takes a priming event (MCP 2025-11-25 and later). */
export interface Resumption {
  events: SessionEvents;
  prime: boolean;
}

export class PostExchange {
  private readonly waiting: Set<RpcId>;
  private readonly answers: WireMessage[] = [];
  private stream: SseStream | ResumableStream | undefined;
  private finished = false;
  private abandoned: () => void = () => undefined;

  /** `ready`: answers known before anything is forwarded (invalid batch elements). */
  constructor(
    private readonly res: ServerResponse,
    requestIds: RpcId[],
    ready: WireMessage[],
    private readonly batch: boolean,
    private readonly headers: Record<string, string>,
    private readonly resumption?: Resumption,
  ) {
    this.waiting = new Set(requestIds);
    this.answers.push(...ready);
    if (this.waiting.size === 0) this.complete();
  }

  /** True while answers are outstanding and can still reach the agent (now, or when it resumes the stream). */
  get open(): boolean {
    if (this.finished) return false;
    return this.stream instanceof ResumableStream ? this.stream.open : !this.res.destroyed;
  }

  /**
   * Calls `listener` when the agent is gone before every answer was written:
   * at once when it has no way back (a JSON answer, a stream without event
   * ids), else when it did not resume the stream within the grace period.
   */
  onAbandoned(listener: () => void): void {
    this.abandoned = listener;
    this.res.on('close', () => {
      if (!this.finished && !(this.stream instanceof ResumableStream)) listener();
    });
  }

  /** Answers as an event stream from now on (answers already known go first); false when the agent is gone. */
  streamed(): boolean {
    if (!this.open) return false;
    if (this.stream === undefined) {
      const connection = new SseStream(this.res, this.headers);
      if (this.resumption === undefined) this.stream = connection;
      else {
        this.stream = this.resumption.events.open(() => this.abandoned());
        this.stream.start(connection, this.resumption.prime);
      }
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
    if (this.stream instanceof ResumableStream) this.stream.finish();
    else if (this.stream !== undefined) this.stream.end();
    else writeJson(this.res, 200, this.batch ? this.answers : this.answers[0], this.headers);
  }
}
