/** The hash chain: each record's hash covers its content and the previous record's hash. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/canonical-json.js';
import type { AuditRecord } from './events.js';

/** The `prev` of the very first record. */
export const GENESIS_HASH = '0'.repeat(64);

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** "sha256:<hex>" of the RFC 8785 canonical JSON of a value (tool arguments). */
export function argumentsDigest(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value ?? null))}`;
}

/** The hash a record must carry: over everything but `hash` itself. */
export function recordHash(record: Record<string, unknown>): string {
  const { hash: _ignored, ...body } = record;
  return sha256Hex(canonicalJson(body));
}

/** Fills in `hash` (the body already carries seq and prev). */
export function seal<T extends Omit<AuditRecord, 'hash'>>(body: T): T & { hash: string } {
  return { ...body, hash: recordHash(body as unknown as Record<string, unknown>) };
}
