/**
 * The audit call id the gateway gives a client for each call it puts on
 * record, so a reviewer can follow one call from the client's own record
 * (e.g. an agent's transcript) to the audit trail: in a result's `_meta`, and
 * under the same key in the `data` of an error (denied, held, refused after
 * the decision). The key is namespaced as MCP's `_meta` rules ask.
 */
export const CALL_ID_KEY = 'portcullis/call_id';

/** The call id in a result's `_meta` or an error's `data`, if the gateway put one there. */
export function callIdIn(container: unknown): string | undefined {
  if (container === null || typeof container !== 'object') return undefined;
  const value = (container as Record<string, unknown>)[CALL_ID_KEY];
  return typeof value === 'string' ? value : undefined;
}
