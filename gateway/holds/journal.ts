import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { HoldEventType, HoldRecord } from './types.js';

interface JournalLine {
  type: HoldEventType;
  at: string;
  hold: HoldRecord;
}

/**
 * Hold events as JSON lines, one appended per event, so the way every hold
 * ended survives a restart. At open the journal is compacted: one line per
 * hold (its last state), finished holds beyond `keepFinished` dropped, the
 * file replaced atomically.
 */
export class HoldJournal {
  private constructor(readonly file: string) {}

  /** Opens the journal and returns the last known record of each hold, oldest first. */
  static open(file: string, keepFinished: number): { journal: HoldJournal; records: HoldRecord[] } {
    const latest = new Map<string, JournalLine>();
    if (existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, index) => {
        if (line.trim() === '') return;
        try {
          const parsed = JSON.parse(line) as JournalLine;
          if (typeof parsed?.hold?.id !== 'string') throw new Error('no hold id');
          latest.delete(parsed.hold.id);
          latest.set(parsed.hold.id, parsed);
        } catch {
          // Only a torn final line (crash mid-append) is expected; anything else is damage.
          if (index < lines.length - 1 && lines.slice(index + 1).some((l) => l.trim() !== '')) {
            throw new Error(`hold journal ${file} is damaged at line ${index + 1}`);
          }
        }
      });
    }
    const all = [...latest.values()];
    const pending = all.filter((l) => l.hold.state === 'pending' || l.hold.state === 'approved');
    const finished = all.filter((l) => l.hold.state !== 'pending' && l.hold.state !== 'approved');
    const kept = [...finished.slice(Math.max(0, finished.length - keepFinished)), ...pending];
    kept.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    writeFileAtomic(file, kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
    return { journal: new HoldJournal(file), records: kept.map((l) => l.hold) };
  }

  append(type: HoldEventType, at: string, hold: HoldRecord): void {
    const line: JournalLine = { type, at, hold };
    appendFileSync(this.file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  }
}
