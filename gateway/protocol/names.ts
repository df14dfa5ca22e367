/** Names on the aggregated endpoint: `<server>__<name>` routes back to `<name>` on `<server>`. */

export const SEPARATOR = '__';

export function joinName(server: string, name: string): string {
  return `${server}${SEPARATOR}${name}`;
}

/** Server names never contain `__` (config schema), so the first separator splits. */
export function splitName(qualified: string): { server: string; name: string } | undefined {
  const at = qualified.indexOf(SEPARATOR);
  if (at <= 0 || at + SEPARATOR.length >= qualified.length) return undefined;
  return { server: qualified.slice(0, at), name: qualified.slice(at + SEPARATOR.length) };
}
