/** `portcullis audit query`: the records of a file or folder matching simple filters. */
import type { AuditRecord } from './events.js';
import { auditFilesOf, parseLine, readLines } from './read.js';

export interface AuditFilter {
  agent?: string;
  server?: string;
  tool?: string;
  decision?: 'allow' | 'deny' | 'hold';
  /** The records of one call (what the gateway told the client as `portcullis/call_id`). */
  callId?: string;
  type?: AuditRecord['type'];
  /** Inclusive bounds, milliseconds since the epoch. */
  since?: number;
  until?: number;
}

function matches(record: AuditRecord, filter: AuditFilter): boolean {
  const r = record as Partial<Record<'server' | 'tool' | 'decision' | 'call_id', unknown>> & { agent?: { id?: unknown } };
  if (filter.type !== undefined && record.type !== filter.type) return false;
  if (filter.agent !== undefined && r.agent?.id !== filter.agent) return false;
  if (filter.server !== undefined && r.server !== filter.server) return false;
  if (filter.tool !== undefined && r.tool !== filter.tool) return false;
  if (filter.decision !== undefined && r.decision !== filter.decision) return false;
  if (filter.callId !== undefined && r.call_id !== filter.callId) return false;
  if (filter.since !== undefined || filter.until !== undefined) {
    const at = Date.parse(record.ts);
    if (filter.since !== undefined && !(at >= filter.since)) return false;
    if (filter.until !== undefined && !(at <= filter.until)) return false;
  }
  return true;
}

/** Matching records in log order; lines that are not records are skipped (verify reports them). */
export async function* queryAudit(target: string, filter: AuditFilter): AsyncGenerator<AuditRecord> {
  for (const file of await auditFilesOf(target)) {
    const { lines } = await readLines(file);
    for (const line of lines) {
      const record = parseLine(line);
      if (record && matches(record, filter)) yield record;
    }
  }
}

const RELATIVE = /^(\d{1,9})([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO time or a duration back from now ("15m", "2h", "7d"); undefined when neither. */
export function parseTimeBound(text: string, now = Date.now()): number | undefined {
  const relative = RELATIVE.exec(text);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}
