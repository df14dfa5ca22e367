/**
 * Resumable event streams (MCP Streamable HTTP, "Resumability and
 * Redelivery"). Every event the gateway writes on a session's stream carries
 * an id unique in the session and is kept, within the session's bounds,
 * until the stream has carried its last message to a connected agent. An
 * agent whose connection breaks sends GET with Last-Event-ID and gets what
 * followed on that same stream, then the rest as it comes. A broken stream
 * nobody resumes within the grace period is given up (whoever opened it
 * cancels its calls then).
 */
import { randomUUID } from 'node:crypto';
import type { SseStream, WireMessage } from './http-io.js';

export interface ResumeSettings {
  /** How long a broken stream waits for its agent to resume it. */
  graceMs: number;
  /** The reconnection delay the priming event asks for. */
  retryMs: number;
  /** Bounds on what one session keeps for replay, all its streams together. */
  maxEvents: number;
  maxBytes: number;
}

/** An event kept for replay: its place in the stream, its age in the session, its JSON text and that text's size. */
interface Kept {
  seq: number;
  age: number;
  data: string;
  bytes: number;
}

export class ResumableStream {
  private readonly kept: Kept[] = [];
  private nextSeq = 0;
  /** Events up to this one were not kept (evicted, or too large): a resume from before it cannot be served. */
  private lostThrough = -1;
  /** Whether the agent was given an event id of this stream (it can resume only then). */
  private resumable = false;
  private connection: SseStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private gone = false;

  constructor(
    private readonly store: SessionEvents,
    readonly id: string,
    /** Called when the stream is given up before its last message was written. */
    private readonly onGiveUp: () => void,
  ) {}

  /** Whether an agent connection carries this stream now. */
  get live(): boolean {
    return this.connection?.open === true;
  }

  /** Whether a message sent now reaches the agent: at once, or when it resumes. */
  get open(): boolean {
    return !this.gone;
  }

  private eventId(seq: number): string {
    return `${this.id}:${seq}`;
  }

  /** Carries the stream on `connection`, starting with the priming event when the agent's protocol takes one. */
  start(connection: SseStream, prime: boolean): void {
    const seq = this.nextSeq++;
    this.lostThrough = seq;
    if (prime && connection.prime(this.eventId(seq), this.store.settings.retryMs)) this.resumable = true;
    this.attach(connection);
  }

  send(message: WireMessage): boolean {
    if (this.gone) return false;
    const seq = this.nextSeq++;
    const data = JSON.stringify(message);
    if (!this.store.keep(this, seq, data)) this.lostThrough = seq;
    if (this.connection?.write(data, this.eventId(seq)) === true) this.resumable = true;
    return true;
  }

  /** No more messages: a connected agent's stream ends now; a broken one waits for its resume. */
  finish(): void {
    this.finished = true;
    if (this.live) this.end();
  }

  /** Whether the agent may resume after event `seq`: nothing it has not seen was lost. */
  canResumeAfter(seq: number): boolean {
    return !this.gone && seq < this.nextSeq && seq >= this.lostThrough;
  }

  /**
   * The agent's new connection: what followed event `after` first, then the
   * rest as it comes. A connection still attached ends: the agent has moved
   * (the gateway may not have noticed the old one break).
   */
  resume(connection: SseStream, after: number): void {
    const previous = this.connection;
    this.connection = undefined;
    previous?.end();
    for (const event of this.kept) if (event.seq > after) connection.write(event.data, this.eventId(event.seq));
    this.resumable = true;
    if (this.finished) {
      this.connection = connection;
      this.end();
      return;
    }
    this.attach(connection);
  }

  private attach(connection: SseStream): void {
    clearTimeout(this.timer);
    this.connection = connection;
    connection.onClose(() => {
      if (this.connection === connection) this.broken();
    });
  }

  /** The agent's connection went away before the stream's end. */
  private broken(): void {
    this.connection = undefined;
    if (this.gone) return;
    if (!this.resumable) return this.giveUp();
    this.timer = setTimeout(() => this.giveUp(), this.store.settings.graceMs);
    this.timer.unref();
  }

  private giveUp(): void {
    const unfinished = !this.finished;
    this.end();
    if (unfinished) this.onGiveUp();
  }

  /** Ends the stream now and forgets its events. */
  end(): void {
    if (this.gone) return;
    this.gone = true;
    clearTimeout(this.timer);
    this.connection?.end();
    this.connection = undefined;
    this.store.forget(this);
  }

  /** Age of the oldest kept event (undefined when none is kept). */
  oldest(): number | undefined {
    return this.kept[0]?.age;
  }

  /** Keeps `event` (its age set by the store). */
  push(event: Kept): void {
    this.kept.push(event);
  }

  /** Drops the oldest kept event; its size in bytes. */
  dropOldest(): number {
    const event = this.kept.shift();
    if (event === undefined) return 0;
    this.lostThrough = Math.max(this.lostThrough, event.seq);
    return event.bytes;
  }

  /** Events kept now, and their bytes (what the store gives back when the stream goes). */
  size(): { events: number; bytes: number } {
    let bytes = 0;
    for (const event of this.kept) bytes += event.bytes;
    return { events: this.kept.length, bytes };
  }
}

/** The resumable streams of one session and the events they keep, bounded in number and bytes. */
export class SessionEvents {
  private readonly streams = new Map<string, ResumableStream>();
  private events = 0;
  private bytes = 0;
  private age = 0;

  constructor(readonly settings: ResumeSettings) {}

  /** A new stream; `onGiveUp` runs when it is given up before its last message. */
  open(onGiveUp: () => void = () => undefined): ResumableStream {
    const stream = new ResumableStream(this, randomUUID(), onGiveUp);
    this.streams.set(stream.id, stream);
    return stream;
  }

  /** The stream event `eventId` belongs to and its place there, when the agent can resume after it. */
  find(eventId: string): { stream: ResumableStream; after: number } | undefined {
    const colon = eventId.lastIndexOf(':');
    const stream = this.streams.get(eventId.slice(0, colon));
    const digits = eventId.slice(colon + 1);
    if (stream === undefined || !/^\d{1,15}$/.test(digits)) return undefined;
    const after = Number(digits);
    return stream.canResumeAfter(after) ? { stream, after } : undefined;
  }

  /** Keeps an event of `stream` for replay, evicting the session's oldest past the bounds; false when it is too large to keep. */
  keep(stream: ResumableStream, seq: number, data: string): boolean {
    const bytes = Buffer.byteLength(data);
    if (bytes > this.settings.maxBytes) return false;
    stream.push({ seq, age: this.age++, data, bytes });
    this.events++;
    this.bytes += bytes;
    while ((this.events > this.settings.maxEvents || this.bytes > this.settings.maxBytes) && this.evictOldest());
    return true;
  }

  /** Drops the session's oldest kept event; false when none is kept. */
  private evictOldest(): boolean {
    let oldest: { stream: ResumableStream; age: number } | undefined;
    for (const stream of this.streams.values()) {
      const age = stream.oldest();
      if (age !== undefined && (oldest === undefined || age < oldest.age)) oldest = { stream, age };
    }
    if (oldest === undefined) return false;
    this.bytes -= oldest.stream.dropOldest();
    this.events--;
    return true;
  }

  /** A closed stream's events are given back. */
  forget(stream: ResumableStream): void {
    if (!this.streams.delete(stream.id)) return;
    const { events, bytes } = stream.size();
    this.events -= events;
    this.bytes -= bytes;
  }

  /** The session ended: every stream with it. */
  close(): void {
    for (const stream of [...this.streams.values()]) stream.end();
  }
}
