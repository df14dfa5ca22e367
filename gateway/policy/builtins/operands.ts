/**
 * Shared shape of host built-in implementations and checks of their operands.
 * A failed check throws BuiltinError, which the wire wrapper turns into an
 * undefined result (OPA's WebAssembly target treats built-in errors so).
 */
import { RegoObject, RegoSet, isInteger, isNumber, typeName, type RegoNumber, type Value } from './value.js';

/** A built-in: returns its result, or undefined when it has none. */
export type BuiltinImpl = (...args: Value[]) => Value | undefined;
export type BuiltinTable = Readonly<Record<string, BuiltinImpl>>;

export class BuiltinError extends Error {
  override name = 'BuiltinError';
}

function fail(what: string, v: Value): never {
  throw new BuiltinError(`operand must be ${what}, got ${typeName(v)}`);
}

export function str(v: Value | undefined): string {
  return typeof v === 'string' ? v : fail('string', v ?? null);
}

export function num(v: Value | undefined): RegoNumber {
  return v !== undefined && isNumber(v) ? v : fail('number', v ?? null);
}

/** A number as a JS double (lossy above 2^53; fine for counts and floats). */
export function dbl(v: Value | undefined): number {
  return Number(num(v));
}

export function int(v: Value | undefined): bigint {
  const n = num(v);
  if (!isInteger(n)) fail('integer', v ?? null);
  return BigInt(n);
}

/** A small integer (index, count). */
export function smallInt(v: Value | undefined): number {
  const n = int(v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) fail('small integer', v ?? null);
  return Number(n);
}

export function bool(v: Value | undefined): boolean {
  return typeof v === 'boolean' ? v : fail('boolean', v ?? null);
}

export function arr(v: Value | undefined): Value[] {
  return Array.isArray(v) ? v : fail('array', v ?? null);
}

export function obj(v: Value | undefined): RegoObject {
  return v instanceof RegoObject ? v : fail('object', v ?? null);
}

export function set(v: Value | undefined): RegoSet {
  return v instanceof RegoSet ? v : fail('set', v ?? null);
}

/** Elements of an array or set (collections several built-ins accept). */
export function items(v: Value | undefined): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RegoSet) return v.sorted();
  return fail('array or set', v ?? null);
}

/** Strings of an array or set of strings. */
export function strings(v: Value | undefined): string[] {
  return items(v).map(str);
}
