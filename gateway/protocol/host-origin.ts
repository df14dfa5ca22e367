/**
 * DNS-rebinding protection (Streamable HTTP transport rules): the Host header
 * must name this listener and an Origin header, when a browser sends one,
 * must be explicitly allowed. Shared by the gateway's edge and the local
 * bridge's loopback listener (gateway/bridge), which both hold credentials.
 */
import { GatewayError } from '../errors.js';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export class HostOriginGuard {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(port: number, extraHosts: readonly string[], allowedOrigins: readonly string[]) {
    const names = [...LOOPBACK_NAMES];
    this.hosts = new Set(names.map((name) => `${name}:${port}`));
    if (port === 443) for (const name of names) this.hosts.add(name);
    for (const host of extraHosts) this.hosts.add(host.toLowerCase());
    this.origins = new Set(allowedOrigins.map((origin) => origin.toLowerCase()));
    // Loopback origins on this very port are not cross-site: only this listener is there
    // (the MCP conformance suite requires them to be accepted).
    for (const name of names) for (const scheme of ['https', 'http']) this.origins.add(`${scheme}://${name}:${port}`);
  }

  /** Throws a 403-class GatewayError for a request that must not be served. */
  check(host: string | undefined, origin: string | undefined): void {
    if (host === undefined || !this.hosts.has(host.toLowerCase())) throw new GatewayError('forbiddenHost');
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) throw new GatewayError('forbiddenOrigin');
  }
}

/**
 * Node keeps the first of several Host headers and drops the rest, so a
 * request could be checked against one Host while a proxy in front routed it
 * by another: a request naming Host more than once is refused.
 */
export function hostGivenOnce(raw: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.length === 4 && raw[i]?.toLowerCase() === 'host' && ++seen > 1) return false;
  return true;
}
