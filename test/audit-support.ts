/** Shared by the audit tests: a config in a temp folder, sample events, line surgery on real files. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUDIT_DEFAULTS, type AuditConfig } from '../gateway/audit/config.js';
import { hashedLine, recordHashV1 } from '../gateway/audit/chain.js';
import type { DecisionEvent, OutcomeEvent } from '../gateway/audit/events.js';

/** A fresh folder under the OS temp dir, removed when the test ends. */
export function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function auditConfig(dir: string, overrides: Partial<AuditConfig> = {}): AuditConfig {
  return { ...AUDIT_DEFAULTS, dir, ...overrides };
}

export function ecKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function decisionEvent(i: number, overrides: Partial<DecisionEvent> = {}): DecisionEvent {
  return {
    type: 'decision',
    call_id: `s1:${i}`,
    agent: { id: `spiffe://test/agent/${i % 2 === 0 ? 'alice' : 'bob'}`, auth: 'mtls', cert_serial: '0a1b' },
    session: 's1',
    server: i % 3 === 0 ? 'fs' : 'everything',
    method: 'tools/call',
    tool: i % 3 === 0 ? 'read_file' : 'echo',
    arguments: { path: `/tmp/${i}`, n: i },
    decision: i % 4 === 0 ? 'deny' : 'allow',
    reasons: i % 4 === 0 ? ['path outside workspace'] : [],
    revision: 'rev-1',
    latency_ms: { decision: 0.2 },
    ...overrides,
  };
}

export function outcomeEvent(i: number, overrides: Partial<OutcomeEvent> = {}): OutcomeEvent {
  return {
    type: 'outcome',
    call_id: `s1:${i}`,
    agent: { id: 'spiffe://test/agent/alice' },
    server: 'everything',
    method: 'tools/call',
    tool: 'echo',
    outcome: 'ok',
    latency_ms: { upstream: 3, total: 4 },
    ...overrides,
  };
}

/** The lines of a file without the final newline's empty tail. */
export function readLinesOf(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function writeLinesTo(file: string, lines: string[]): void {
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
}

/** What a forger without the key does: recompute prev and hash of every record from `from` on, each by its version. */
export function rechain(lines: string[], from: number): string[] {
  const out = [...lines];
  for (let i = from; i < out.length; i++) {
    const { hash: _old, ...record } = JSON.parse(out[i] as string) as Record<string, unknown>;
    if (i > 0) record.prev = (JSON.parse(out[i - 1] as string) as { hash: string }).hash;
    out[i] = record.v === 1 ? JSON.stringify({ ...record, hash: recordHashV1(record) }) : hashedLine(JSON.stringify(record).slice(0, -1)).line.trimEnd();
  }
  return out;
}

/** Waits for `promise`, failing after `ms`; the timer also keeps the event loop alive while waiting. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
