/**
 * Deep redaction of a JSON value (tool arguments, results, log objects):
 * every string and key sanitized, values under secret-named keys and under
 * policy-named JSON paths replaced whole. Returns what was found, by detector.
 */
import { sensitiveKeyKind } from './detectors.js';
import { redactionMarker, sanitizeString, secretKindsIn, type Findings, type SanitizeOptions } from './text.js';
import { compileRedactList, type RedactPlan } from './redact-list.js';

export interface RedactJsonOptions extends SanitizeOptions {
  /** A policy decision's `redact` list: detector names and JSON paths ($.a.b, $.items[*].c). */
  redact?: readonly string[];
  /** Deeper values are replaced by a marker; default 64. */
  maxDepth?: number;
}

export interface RedactJsonResult {
  value: unknown;
  found: Findings;
  /** Entries of `redact` that are neither a known detector nor a valid path. */
  unknown: string[];
}

const KEY_MAX_LENGTH = 256;

interface Walk {
  findings: Findings;
  options: SanitizeOptions;
  plan: RedactPlan;
  maxDepth: number;
  seen: WeakSet<object>;
}

function walk(value: unknown, path: readonly (string | number)[], w: Walk): unknown {
  if (w.plan.matchesPath(path)) {
    w.findings['policy-path'] = (w.findings['policy-path'] ?? 0) + 1;
    return redactionMarker('policy-path');
  }
  switch (typeof value) {
    case 'string':
      return sanitizeString(value, w.findings, w.options);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (path.length >= w.maxDepth) return '[TRUNCATED:depth]';
  if (w.seen.has(object)) return '[CIRCULAR]';
  w.seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((item, i) => walk(item, [...path, i], w) ?? null);
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
    if (ArrayBuffer.isView(object)) return `[BINARY:${object.byteLength} bytes]`;
    if (object instanceof Error) {
      return walk({ type: object.name, message: object.message, stack: object.stack }, path, w);
    }
    const entries: [string, unknown][] = [];
    for (const [key, item] of Object.entries(object)) {
      const safeKey = sanitizeString(key, w.findings, { ...w.options, maxLength: KEY_MAX_LENGTH });
      const kind = sensitiveKeyKind(key, item);
      if (kind !== undefined && item !== null && item !== undefined && item !== '') {
        w.findings[kind] = (w.findings[kind] ?? 0) + 1;
        entries.push([safeKey, redactionMarker(kind)]);
        continue;
      }
      const out = walk(item, [...path, key], w);
      if (out !== undefined) entries.push([safeKey, out]);
    }
    // fromEntries defines own properties, so a "__proto__" key stays data, never a prototype.
    return Object.fromEntries(entries);
  } finally {
    w.seen.delete(object);
  }
}

export function redactJson(value: unknown, options: RedactJsonOptions = {}): RedactJsonResult {
  const plan = compileRedactList(options.redact ?? []);
  const findings: Findings = {};
  const w: Walk = {
    findings,
    options: { maxLength: options.maxLength, optIn: plan.detectors },
    plan,
    maxDepth: options.maxDepth ?? 64,
    seen: new WeakSet(),
  };
  return { value: walk(value, [], w), found: findings, unknown: plan.unknown };
}

function collectKinds(value: unknown, kinds: Set<string>): void {
  if (typeof value === 'string') return secretKindsIn(value, kinds);
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collectKinds(item, kinds);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    secretKindsIn(key, kinds);
    const kind = sensitiveKeyKind(key, item);
    if (kind !== undefined && item !== null && item !== undefined && item !== '') kinds.add(kind);
    else collectKinds(item, kinds);
  }
}

/**
 * The kinds of secret in a JSON value (a tool call's arguments), as redactJson
 * would find them but with no length cap and no copy: every key and string,
 * values under secret-named keys. Sorted, each once.
 */
export function secretKinds(value: unknown): string[] {
  const kinds = new Set<string>();
  collectKinds(value, kinds);
  return [...kinds].sort();
}
