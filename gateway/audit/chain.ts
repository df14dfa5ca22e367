/**
 * The hash chain: each record's hash covers its content and the previous
 * record's hash. Two record versions verify side by side:
 * - v 1 (written before v 2): SHA-256 of the RFC 8785 canonical JSON of the
 *   record without `hash`;
 * - v 2: SHA-256 of the line's exact bytes up to the closing `,"hash":"<hex>"}`,
 *   so the writer serialises each record once and never canonicalises it.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/canonical-json.js';
import type { RecordEnvelope } from './events.js';

/** The `prev` of the very first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** The record version the writer produces. */
export const RECORD_VERSION = 2;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** "sha256:<hex>" of the RFC 8785 canonical JSON of a value (tool arguments). */
export function argumentsDigest(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value ?? null))}`;
}

/** The v 1 hash a record must carry: over the canonical JSON of everything but `hash` itself. */
export function recordHashV1(record: Record<string, unknown>): string {
  const { hash: _ignored, ...body } = record;
  return sha256Hex(canonicalJson(body));
}

/** What ends every v 2 line after the 64 hex digits of the hash (before the newline). */
const V2_HASH_OPEN = ',"hash":"';
const V2_CLOSE = '"}';
const V2_SUFFIX_BYTES = V2_HASH_OPEN.length + 64 + V2_CLOSE.length;

/** The envelope of a v 2 record that is not yet hashed. */
export type Unsealed = Omit<RecordEnvelope, 'hash' | 'v'>;

/** A v 2 line (with its newline) from everything before its hash member: a JSON object's text without the closing brace. */
export function hashedLine(prefix: string): { line: string; hash: string } {
  const hash = sha256Hex(prefix);
  return { line: `${prefix}${V2_HASH_OPEN}${hash}${V2_CLOSE}\n`, hash };
}

/** A v 2 line: the envelope, then the members of `fieldsJson` (a JSON object's text) in order, then the hash. */
export function sealLine(envelope: Unsealed, fieldsJson: string): { line: string; hash: string } {
  // ts is an ISO time, type one of five words, prev 64 hex digits: nothing to escape.
  const head = `{"v":${RECORD_VERSION},"seq":${envelope.seq},"ts":"${envelope.ts}","type":"${envelope.type}","prev":"${envelope.prev}"`;
  return hashedLine(fieldsJson.length > 2 ? `${head},${fieldsJson.slice(1, -1)}` : head);
}

/**
 * True when a v 2 line (without its newline) ends with `hash` as its last
 * member and the bytes before that member hash to it.
 */
function v2LineMatches(line: Buffer, hash: string): boolean {
  if (line.length <= V2_SUFFIX_BYTES) return false;
  const cut = line.length - V2_SUFFIX_BYTES;
  if (line.toString('latin1', cut) !== `${V2_HASH_OPEN}${hash}${V2_CLOSE}`) return false;
  return createHash('sha256').update(line.subarray(0, cut)).digest('hex') === hash;
}

/** Whether a parsed record's hash holds, by its version; `line` is the exact line it was parsed from. */
export function hashMatches(record: { v: number; hash: string }, line: Buffer | string): boolean {
  if (record.v === 1) return recordHashV1(record as unknown as Record<string, unknown>) === record.hash;
  return v2LineMatches(typeof line === 'string' ? Buffer.from(line, 'utf8') : line, record.hash);
}
