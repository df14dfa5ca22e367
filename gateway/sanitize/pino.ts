/**
 * Pino integration: a `streamWrite` hook sees the final serialized line after
 * every serializer, formatter, mixin and child binding has run, so sanitizing
 * there covers every log line whatever produced it.
 */
import { redactJson } from './json.js';
import { sanitizeString } from './text.js';

/** Sanitizes one serialized log line; a line that is not JSON is sanitized as text. */
export function sanitizeLogLine(line: string): string {
  const body = line.endsWith('\n') ? line.slice(0, -1) : line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `${sanitizeString(body, {})}\n`;
  }
  return `${JSON.stringify(redactJson(parsed).value)}\n`;
}

/** Spread into pino (or fastify `logger`) options: `pino({ ...opts, hooks: sanitizingHooks() })`. */
export function sanitizingHooks(): { streamWrite: (line: string) => string } {
  return { streamWrite: sanitizeLogLine };
}
