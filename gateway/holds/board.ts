/**
 * Where replicas share holds (state.backend redis): one record per hold,
 * every change announced, decisions made by compare and set so that of two
 * replicas deciding one hold exactly one wins. SharedRecords
 * (gateway/state/records.ts) is the Redis implementation.
 */
export interface HoldBoard {
  readonly available: boolean;
  put(id: string, value: string): Promise<void>;
  /** Replaces the record only while its state is still `expected`; otherwise answers what is stored. */
  transition(id: string, expected: string, value: string): Promise<{ ok: true } | { ok: false; current: string | undefined }>;
  all(): Promise<string[]>;
  onChange(listener: (value: string) => void): () => void;
  /** After each reconnection: reload, changes missed meanwhile included. */
  onResync(listener: () => void): () => void;
}
