/**
 * The append-only audit log. One serial writer owns the hash chain. Group
 * commit: every record queued in one event-loop turn (and every record queued
 * while the previous batch was being written) is sealed in arrival order and
 * written with one write and, with fsync "always", one fdatasync; only then is
 * each of its callers answered. Any write failure fails the batch and the log
 * closed: `check()` throws and every record is refused until a periodic reopen
 * (which recovers the tail) succeeds.
 */
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { GENESIS_HASH, hashMatches, sealLine, sha256Hex } from './chain.js';
import { parseLine } from './read.js';
import type { CheckpointSigner } from './checkpoint.js';
import type { AuditConfig } from './config.js';
import { recordBodies, type RecordBody } from './body.js';
import { auditFileName, listAuditFiles, readTail } from './files.js';
import type { AuditEvent, AuditReceipt, RecordEnvelope } from './events.js';

/** Thrown (and rejected with) while the audit trail cannot record: callers must refuse the call. */
export class AuditUnavailableError extends Error {
  readonly code = 'AUDIT_UNAVAILABLE';
  constructor(readonly reason: string) {
    super('audit trail unavailable: call refused');
    this.name = 'AuditUnavailableError';
  }
}

/** What the log reports to metrics; structural so audit does not depend on the metrics module. */
export interface AuditObserver {
  recordsWritten(count: number): void;
  writeFailed(): void;
  /** False when the log fails closed, true again once a reopen succeeds. */
  availabilityChanged?(available: boolean): void;
}

export interface AuditLogOptions {
  config: AuditConfig;
  signer: CheckpointSigner;
  observer?: AuditObserver;
  /** Wall clock, replaceable so tests can age files without waiting. */
  now?: () => number;
}

interface Pending {
  body: RecordBody;
  resolve: (receipt: AuditReceipt) => void;
  reject: (error: Error) => void;
}

type QueueItem = Pending | 'checkpoint';

interface Head {
  seq: number;
  hash: string;
}

const FILE_MODE = 0o600;
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** An errno code (ENOSPC, EACCES, EBADF...) or message: safe to log, never record content. */
function errorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : 'write failed');
}

export class AuditLog {
  private readonly config: AuditConfig;
  private readonly signer: CheckpointSigner;
  private readonly observer: AuditObserver | undefined;
  private readonly now: () => number;
  private readonly bodyOf: (event: AuditEvent) => RecordBody;
  private handle: FileHandle | undefined;
  private fileSize = 0;
  private fileOpenedAt = 0;
  private head: Head = { seq: 0, hash: GENESIS_HASH };
  private sinceCheckpoint = 0;
  private queue: QueueItem[] = [];
  private draining: Promise<void> | undefined;
  private failure: AuditUnavailableError | undefined;
  private closed = false;
  private dirty = false;
  private timers: NodeJS.Timeout[] = [];
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(options: AuditLogOptions) {
    this.config = options.config;
    this.signer = options.signer;
    this.observer = options.observer;
    this.now = options.now ?? Date.now;
    this.bodyOf = recordBodies(options.config.max_field_length);
  }

  /** Opens (or creates) the log, sealing a torn last line left by a crash. Throws when it cannot. */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(options);
    try {
      await log.openTail();
    } catch (error) {
      await log.closeHandle();
      throw error instanceof AuditUnavailableError ? error : new AuditUnavailableError(errorReason(error));
    }
    log.startTimers();
    return log;
  }

  /** True while records can be written. */
  get available(): boolean {
    return this.failure === undefined && !this.closed;
  }

  /** The pipeline calls this before forwarding: throws AuditUnavailableError when records cannot be written. */
  check(): void {
    if (this.closed) throw new AuditUnavailableError('closed');
    if (this.failure) throw this.failure;
  }

  /** Queues one event; resolves once it is written (and synced per policy), rejects if it cannot be. */
  record(event: AuditEvent): Promise<AuditReceipt> {
    try {
      this.check();
    } catch (error) {
      return Promise.reject(error);
    }
    let body: RecordBody;
    try {
      body = this.bodyOf(event);
    } catch {
      // Only non-JSON arguments (a BigInt, a non-finite number) get here: refuse rather than guess a digest.
      return Promise.reject(new TypeError('audit: the call arguments are not JSON'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ body, resolve, reject });
      this.kick();
    });
  }

  /** Writes a checkpoint now (if anything is unsigned) and waits for everything queued. */
  async flush(): Promise<void> {
    if (this.available && this.sinceCheckpoint + this.queue.length > 0) this.queue.push('checkpoint');
    this.kick();
    while (this.draining) await this.draining;
  }

  /** Final checkpoint, sync and close. Later records are refused. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.flush();
    this.closed = true;
    if (this.config.fsync !== 'never' && this.failure === undefined) await this.handle?.datasync();
    await this.closeHandle();
  }

  private kick(): void {
    if (this.draining || this.queue.length === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0 && !this.failure) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      // Group commit: what the rest of this turn queues joins the batch.
      await nextTurn();
      if (this.failure) return;
      const batch = this.queue.splice(0, this.queue.length);
      const done: [Pending, Head][] = [];
      const start = this.head;
      try {
        const ts = new Date(this.now()).toISOString();
        await this.rotateIfDue(ts);
        const lines: string[] = [];
        for (const item of batch) {
          if (item === 'checkpoint') {
            if (this.sinceCheckpoint > 0) lines.push(await this.checkpointLine(ts));
            continue;
          }
          lines.push(this.seal(item.body.type, item.body.json, ts));
          done.push([item, this.head]);
          if (this.sinceCheckpoint >= this.config.checkpoint_every) lines.push(await this.checkpointLine(ts));
        }
        if (lines.length > 0) await this.append(lines.join(''));
        this.observer?.recordsWritten(this.head.seq - start.seq);
      } catch (error) {
        this.fail(error, batch);
        return;
      }
      for (const [item, head] of done) item.resolve({ seq: head.seq, hash: head.hash, redactions: item.body.redactions });
    }
  }

  /** Seals the next record (seq, ts, prev, hash) and advances the head. Returns the line to write. */
  private seal(type: RecordEnvelope['type'], fieldsJson: string, ts: string): string {
    const seq = this.head.seq + 1;
    const { line, hash } = sealLine({ seq, ts, type, prev: this.head.hash }, fieldsJson);
    this.head = { seq, hash };
    this.sinceCheckpoint = type === 'checkpoint' ? 0 : this.sinceCheckpoint + 1;
    return line;
  }

  private async checkpointLine(ts: string): Promise<string> {
    const jws = await this.signer.sign({ seq: this.head.seq, hash: this.head.hash });
    return this.seal('checkpoint', JSON.stringify({ jws }), ts);
  }

  private async append(text: string): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('audit file not open');
    const data = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await handle.write(data, offset, data.length - offset);
      if (bytesWritten <= 0) throw new Error('audit write made no progress');
      offset += bytesWritten;
    }
    this.fileSize += data.length;
    if (this.config.fsync === 'always') await handle.datasync();
    else this.dirty = true;
  }

  private async rotateIfDue(ts: string): Promise<void> {
    const tooBig = this.fileSize >= this.config.rotate_bytes;
    const tooOld = this.fileSize > 0 && this.now() - this.fileOpenedAt >= this.config.rotate_seconds * 1000;
    if (!tooBig && !tooOld) return;
    // Each file ends signed, so a file verifies on its own up to its last record.
    if (this.sinceCheckpoint > 0) await this.append(await this.checkpointLine(ts));
    if (this.config.fsync !== 'never') await this.handle?.datasync();
    await this.closeHandle();
    await this.openFile(path.join(this.config.dir, auditFileName(this.head.seq + 1)));
  }

  private async openFile(file: string): Promise<void> {
    const handle = await open(file, APPEND, FILE_MODE);
    try {
      this.fileSize = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.handle = handle;
    this.fileOpenedAt = this.now();
    if (this.config.fsync !== 'never') await this.syncDir();
  }

  /** Makes a newly created file's directory entry durable. */
  private async syncDir(): Promise<void> {
    const dir = await open(this.config.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /**
   * Finds the chain head in the newest file holding a complete record, seals a
   * torn last line with a recovery record, and opens the newest file for append.
   */
  private async openTail(): Promise<void> {
    await mkdir(this.config.dir, { recursive: true, mode: 0o700 });
    const files = await listAuditFiles(this.config.dir);
    this.head = { seq: 0, hash: GENESIS_HASH };
    let partial: Buffer | undefined;
    for (let i = files.length - 1; i >= 0; i--) {
      const handle = await open(files[i] as string, constants.O_RDONLY | constants.O_NOFOLLOW);
      let tail;
      try {
        tail = await readTail(handle);
      } finally {
        await handle.close();
      }
      if (i === files.length - 1) partial = tail.partial;
      if (tail.lastLine === undefined) continue;
      const last = parseLine(tail.lastLine);
      if (!last || !hashMatches(last, tail.lastLine)) {
        throw new AuditUnavailableError(`last record of ${path.basename(files[i] as string)} is corrupt: run "portcullis audit verify"`);
      }
      this.head = { seq: last.seq, hash: last.hash };
      break;
    }
    const newest = files[files.length - 1];
    await this.openFile(newest ?? path.join(this.config.dir, auditFileName(1)));
    // Records since the last checkpoint are unknown after a restart: sign at the next opportunity.
    this.sinceCheckpoint = this.head.seq > 0 ? 1 : 0;
    if (partial) {
      const fields = { partial: { bytes: partial.length, sha256: sha256Hex(partial) } };
      const line = this.seal('recovery', JSON.stringify(fields), new Date(this.now()).toISOString());
      await this.append(`\n${line}`);
      if (this.config.fsync !== 'always') await this.handle?.datasync();
      this.observer?.recordsWritten(1);
    }
  }

  private fail(error: unknown, batch: QueueItem[]): void {
    const failure = this.failure ?? new AuditUnavailableError(errorReason(error));
    if (!this.failure) {
      this.failure = failure;
      this.observer?.writeFailed();
      this.observer?.availabilityChanged?.(false);
      this.scheduleRetry();
    }
    const refused = [...batch, ...this.queue.splice(0, this.queue.length)];
    for (const item of refused) if (item !== 'checkpoint') item.reject(failure);
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    // Kept referenced (unlike the other timers): a failed log is waiting to recover; close() clears it.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reopen();
    }, this.config.retry_seconds * 1000);
  }

  /** Rebuilds the head from what is really on disk; clears the failure only if that works. */
  private async reopen(): Promise<void> {
    if (this.closed) return;
    await this.closeHandle();
    try {
      await this.openTail();
      this.failure = undefined;
      this.observer?.availabilityChanged?.(true);
    } catch {
      this.observer?.writeFailed();
      this.scheduleRetry();
    }
  }

  /** Best effort: callers that need durability sync first; a broken handle must still be let go. */
  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  private startTimers(): void {
    const checkpointTimer = setInterval(() => {
      if (this.available && this.sinceCheckpoint > 0) {
        this.queue.push('checkpoint');
        this.kick();
      }
    }, this.config.checkpoint_seconds * 1000);
    this.timers.push(checkpointTimer);
    if (this.config.fsync === 'interval') {
      const syncTimer = setInterval(() => void this.syncIfDirty(), this.config.fsync_interval_ms);
      this.timers.push(syncTimer);
    }
    for (const timer of this.timers) timer.unref();
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty || !this.handle || this.draining) return;
    this.dirty = false;
    try {
      await this.handle.datasync();
    } catch (error) {
      this.fail(error, []);
    }
  }
}
