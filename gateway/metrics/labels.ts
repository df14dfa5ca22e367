/**
 * Label values are bounded: a fixed vocabulary where the protocol has one
 * (MCP methods, decisions), otherwise the first N distinct values seen per
 * label, then "other". Only values the operator controls (configured
 * servers, catalog tool names, policy reasons, agent identities) may take
 * one of those N places: a value an agent can make up at will would fill
 * them. Values are also cut and restricted to a safe charset, so no argument
 * value, secret or control character can reach /metrics.
 */
import { sanitizeText } from '../sanitize/text.js';

export const OTHER = 'other';
/** The tool label of a call whose name no upstream's catalog lists: agents choose such names freely. */
export const UNLISTED = 'unlisted';
/** The tool label of a message that names no tool. */
export const NO_TOOL = 'none';
const MAX_VALUE_LENGTH = 64;

/** The MCP methods (2025-06-18 spec); anything else an agent sends is "other". */
const MCP_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/message',
  'notifications/roots/list_changed',
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
]);

export function methodLabel(method: string): string {
  return MCP_METHODS.has(method) ? method : OTHER;
}

/** Secrets redacted first (a cut must not leave half of one), then cut and restricted to a safe charset. */
export function cleanLabelValue(value: string): string {
  const cleaned = sanitizeText(value, { maxLength: MAX_VALUE_LENGTH })
    .slice(0, MAX_VALUE_LENGTH)
    .replace(/[^A-Za-z0-9_.:/-]/g, '_');
  return cleaned === '' ? 'none' : cleaned;
}

/** Keeps at most `limit` distinct values for one label; values past that map to "other". */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  /** Raw input to label, so the hot path skips sanitizing; bounded like the label itself. */
  private readonly cache = new Map<string, string>();
  constructor(private readonly limit: number) {}

  value(raw: string | undefined): string {
    const input = raw ?? '';
    const cached = this.cache.get(input);
    if (cached !== undefined) return cached;
    const clean = cleanLabelValue(input);
    let label = OTHER;
    if (this.seen.has(clean)) label = clean;
    else if (this.seen.size < this.limit) {
      this.seen.add(clean);
      label = clean;
    }
    if (this.cache.size < this.limit * 4) this.cache.set(input, label);
    return label;
  }
}
