/**
 * Checks that what a policy returned really is a Decision (see decision.ts).
 * Anything else is malformed and the engine denies: a policy cannot allow by
 * accident through a typo in a field name or a wrong type. An optional field
 * that is null is absent (policies build one object literal and set fields
 * that do not apply to null).
 */
import type { Decision } from './decision.js';

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isNumberAtLeast(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min;
}

/** Returns the Decision, or a short description of the first problem (names fields, never values). */
export function parseDecision(value: unknown): Decision | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.allow !== 'boolean') return 'allow is not a boolean';
  if (v.reasons != null && !isStringArray(v.reasons)) return 'reasons is not an array of strings';
  const decision: Decision = { allow: v.allow, reasons: (v.reasons as string[] | null | undefined) ?? [] };

  if (v.hold != null) {
    const hold = v.hold as Record<string, unknown> | null;
    if (hold === null || typeof hold !== 'object') return 'hold is not an object';
    if (!isStringArray(hold.approvers) || hold.approvers.length === 0) return 'hold.approvers is not a non-empty array of strings';
    if (!isNumberAtLeast(hold.timeout_s, 1)) return 'hold.timeout_s is not a number >= 1';
    if (hold.on_timeout != null && hold.on_timeout !== 'deny' && hold.on_timeout !== 'allow') return 'hold.on_timeout is not "deny" or "allow"';
    decision.hold = { approvers: hold.approvers, timeout_s: hold.timeout_s };
    if (hold.on_timeout != null) decision.hold.on_timeout = hold.on_timeout;
  }
  if (v.rate != null) {
    const rate = v.rate as Record<string, unknown> | null;
    if (rate === null || typeof rate !== 'object') return 'rate is not an object';
    if (typeof rate.bucket !== 'string' || rate.bucket === '') return 'rate.bucket is not a non-empty string';
    if (!isNumberAtLeast(rate.capacity, 1)) return 'rate.capacity is not a number >= 1';
    if (!isNumberAtLeast(rate.refill_per_s, 0)) return 'rate.refill_per_s is not a number >= 0';
    decision.rate = { bucket: rate.bucket, capacity: rate.capacity, refill_per_s: rate.refill_per_s };
  }
  if (v.redact != null) {
    if (!isStringArray(v.redact)) return 'redact is not an array of strings';
    decision.redact = v.redact;
  }
  if (v.classification != null) {
    if (!isStringArray(v.classification)) return 'classification is not an array of strings';
    decision.classification = v.classification;
  }
  return decision;
}
