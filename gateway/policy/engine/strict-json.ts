/**
 * Serialises a policy input as JSON, refusing anything that is not plain
 * JSON data instead of letting JSON.stringify silently change it (NaN and
 * Infinity become null, Dates become strings, Maps become {}, functions
 * vanish) or throw (BigInt, cycles). A refused input never reaches the engine.
 * Object properties whose value is undefined are treated as absent.
 */

export type SerialisedInput = { ok: true; text: string } | { ok: false; reason: string };

/** Deeper documents (and cycles, which never end) are refused. */
const MAX_DEPTH = 128;

const encoder = new TextEncoder();

/** UTF-8 bytes of serialised input, in a buffer of their own (the loader copies the whole buffer). */
export function inputBytes(text: string): ArrayBuffer {
  const bytes = encoder.encode(text);
  return bytes.buffer.byteLength === bytes.byteLength ? bytes.buffer : bytes.slice().buffer;
}

/** An object made by an object literal or JSON.parse (not an array, a Date, a Map, a class instance...). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Why `value` is not plain JSON data, or undefined when it is. A walk, then a plain JSON.stringify, is faster than a replacer. */
function notJson(value: unknown, depth: number, inArray: boolean): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : 'non-finite number';
    case 'undefined':
      return inArray ? 'undefined array element' : undefined;
    case 'object': {
      if (value === null) return undefined;
      if (depth >= MAX_DEPTH) return 'nested too deeply or circular';
      if (Array.isArray(value)) {
        for (const item of value) {
          const reason = notJson(item, depth + 1, true);
          if (reason !== undefined) return reason;
        }
        return undefined;
      }
      if (!isPlainObject(value)) return 'non-plain object';
      for (const key in value) {
        const reason = notJson((value as Record<string, unknown>)[key], depth + 1, false);
        if (reason !== undefined) return reason;
      }
      return undefined;
    }
    default:
      return `${typeof value} value`;
  }
}

export function serialiseInput(input: unknown): SerialisedInput {
  if (input === undefined) return { ok: false, reason: 'not JSON-serialisable (no value)' };
  const reason = notJson(input, 0, false);
  if (reason !== undefined) return { ok: false, reason: `not JSON-serialisable (${reason})` };
  return { ok: true, text: JSON.stringify(input) };
}
