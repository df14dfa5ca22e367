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

function walk(value: unknown, path: (string | number)[], plan: RedactPlan, found: Findings): unknown {
  if (plan.matchesPath(path)) {
    found['policy-path'] = (found['policy-path'] ?? 0) + 1;
    return redactionMarker('policy-path');
  }
  if (typeof value === 'string') return redactSecrets(value, found, plan.detectors);
  if (value === null || typeof value !== 'object') return value;
  // Deeper than any real MCP result: withhold rather than skip unscanned content.
  if (path.length >= MAX_DEPTH) return '[TRUNCATED:depth]';
  if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], plan, found));
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value)) {
    const kind = sensitiveKeyKind(key);
    if (kind !== undefined && typeof item === 'string' && item !== '') {
      found[kind] = (found[kind] ?? 0) + 1;
      entries.push([key, redactionMarker(kind)]);
    } else {
      entries.push([key, walk(item, [...path, key], plan, found)]);
    }
  }
  // fromEntries defines own properties: a "__proto__" key stays data.
  return Object.fromEntries(entries);
}

/** The masked copy and what was found, by detector (for metrics and audit). */
export function maskResult<T>(value: T, redact: readonly string[]): { value: T; found: Findings } {
  const found: Findings = {};
  return { value: walk(value, [], compileRedactList(redact), found) as T, found };
}
