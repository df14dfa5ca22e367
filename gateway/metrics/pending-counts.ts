/**
 * Counter increments made on every call, kept as plain numbers per label set
 * and handed to prom-client when its registry is collected (a scrape, or a
 * read in tests): prom-client validates and hashes the labels on every inc(),
 * a visible cost per tool call. Label values must already be bounded (see
 * labels.ts), so the number of label sets here is bounded too.
 */
import type { Counter, LabelValues } from 'prom-client';

interface Pending<L extends string> {
  labels: LabelValues<L>;
  count: number;
}

export class PendingCounts<L extends string> {
  private readonly pending = new Map<string, Pending<L>>();

  /** Counts one for `labels`; `key` identifies the label set (its values joined). */
  add(key: string, labels: () => LabelValues<L>): void {
    const entry = this.pending.get(key);
    if (entry === undefined) this.pending.set(key, { labels: labels(), count: 1 });
    else entry.count += 1;
  }

  /** Moves what was counted into `counter` (from its collect hook). */
  flushInto(counter: Counter<L>): void {
    for (const entry of this.pending.values()) {
      if (entry.count === 0) continue;
      counter.inc(entry.labels, entry.count);
      entry.count = 0;
    }
  }
}
