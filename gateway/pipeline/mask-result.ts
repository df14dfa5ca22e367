/**
 * Masks what a policy's `redact` list names in a tool result or server
 * message, and only that: detected secrets (always, once anything is to be
 * redacted), opt-in detectors named in the list, values under secret-named
 * keys, and whole values at listed JSON paths. Unlike log sanitizing, text is
 * otherwise left exactly as the upstream sent it (newlines, length, images).
 */
import { redactSecrets, redactionMarker, type Findings } from '../sanitize/text.js';
import { compileRedactList, type RedactPlan } from '../sanitize/redact-list.js';
import { sensitiveKeyKind } from '../sanitize/detectors.js';

const MAX_DEPTH = 64;

/**
 * The masked value, or `value` itself when nothing in it was masked: results
 * are mostly clean, so copies are made only along the way to a change.
 * `path` is one shared stack (pushed and popped), not a copy per level.
 */
function walk(value: unknown, path: (string | number)[], plan: RedactPlan, found: Findings): unknown {
  if (plan.matchesPath(path)) {
    found['policy-path'] = (found['policy-path'] ?? 0) + 1;
    return redactionMarker('policy-path');
  }
  if (typeof value === 'string') return redactSecrets(value, found, plan.detectors);
  if (value === null || typeof value !== 'object') return value;
  // Deeper than any real MCP result: withhold rather than skip unscanned content.
  if (path.length >= MAX_DEPTH) return '[TRUNCATED:depth]';
  if (Array.isArray(value)) return walkArray(value, path, plan, found);
  return walkObject(value as Record<string, unknown>, path, plan, found);
}

function walkArray(value: unknown[], path: (string | number)[], plan: RedactPlan, found: Findings): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    path.push(i);
    const masked = walk(item, path, plan, found);
    path.pop();
    if (masked !== item) copy ??= value.slice();
    if (copy !== undefined) copy[i] = masked;
  }
  return copy ?? value;
}

function walkObject(value: Record<string, unknown>, path: (string | number)[], plan: RedactPlan, found: Findings): Record<string, unknown> {
  const entries = Object.entries(value);
  let changed = false;
  for (const entry of entries) {
    const [key, item] = entry;
    const kind = sensitiveKeyKind(key, item);
    let masked: unknown;
    if (kind !== undefined && typeof item === 'string' && item !== '') {
      found[kind] = (found[kind] ?? 0) + 1;
      masked = redactionMarker(kind);
    } else {
      path.push(key);
      masked = walk(item, path, plan, found);
      path.pop();
    }
    if (masked !== item) {
      entry[1] = masked;
      changed = true;
    }
  }
  // fromEntries defines own properties: a "__proto__" key stays data.
  return changed ? Object.fromEntries(entries) : value;
}

/** The masked value (a copy where anything changed; the input is never modified) and what was found, by detector. */
export function maskResult<T>(value: T, redact: readonly string[]): { value: T; found: Findings } {
  const found: Findings = {};
  return { value: walk(value, [], compileRedactList(redact), found) as T, found };
}
