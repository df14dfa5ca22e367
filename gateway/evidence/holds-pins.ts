/**
 * Holds and pins for the evidence: the hold journal read without touching it
 * (the store compacts it when it opens it; evidence must not), and the pin
 * file's pinned and quarantined tools. Arguments and definitions stay out:
 * the audit trail binds them by digest and hash.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { HoldEvidence, PinEvidence } from '../client/evidence.js';
import type { HoldRecord } from '../holds/types.js';

export function holdEvidence(hold: HoldRecord): HoldEvidence {
  const evidence: HoldEvidence = {
    id: hold.id,
    state: hold.state,
    agent_id: hold.agent_id,
    server: hold.server,
    revision: hold.revision,
    created_at: hold.created_at,
    expires_at: hold.expires_at,
  };
  if (hold.tool !== undefined) evidence.tool = hold.tool;
  if (hold.decided_at !== undefined) evidence.decided_at = hold.decided_at;
  if (hold.decided_by !== undefined) evidence.decided_by = hold.decided_by;
  return evidence;
}

/** The last journaled state of each hold; a torn final line (a crash mid-append) is skipped. */
export function readHoldJournal(file: string): HoldEvidence[] {
  const latest = new Map<string, HoldRecord>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let parsed: { hold?: HoldRecord };
    try {
      parsed = JSON.parse(line) as { hold?: HoldRecord };
    } catch {
      continue;
    }
    if (typeof parsed.hold?.id !== 'string') continue;
    latest.delete(parsed.hold.id);
    latest.set(parsed.hold.id, parsed.hold);
  }
  return [...latest.values()].map(holdEvidence);
}

interface PinFileEntry {
  server: string;
  tool: string;
  pinned?: { hash: string; pinned_at: string };
  pending?: { hash: string; change: string };
}

/** The pin file (format version 1) as evidence: every tool pinned or waiting in quarantine. */
export function readPinFile(file: string): PinEvidence[] {
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown; pins?: PinFileEntry[] };
  if (parsed.version !== 1 || !Array.isArray(parsed.pins)) throw new Error(`pin file ${file} has an unknown format`);
  return parsed.pins.map((pin) => {
    const evidence: PinEvidence = { server: pin.server, tool: pin.tool, state: pin.pending === undefined ? 'pinned' : 'quarantined' };
    if (pin.pinned !== undefined) Object.assign(evidence, { hash: pin.pinned.hash, pinned_at: pin.pinned.pinned_at });
    if (pin.pending !== undefined) evidence.pending_change = pin.pending.change;
    return evidence;
  });
}
