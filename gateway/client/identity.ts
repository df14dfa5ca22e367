/**
 * Who a client is to the gateway: a client certificate (mTLS) or a bearer
 * token, and the CA that signed the gateway's server certificate. The
 * identity is held by one undici Agent (TLS) or added to every request
 * (token); nothing else the client sends can replace it.
 */
import { Agent, fetch as undiciFetch } from 'undici';

export type ClientIdentity =
  | { kind: 'certificate'; cert: string; key: string }
  | { kind: 'token'; token: string };

export interface IdentifiedFetch {
  fetch: typeof fetch;
  close(): Promise<void>;
}

/** A fetch that presents `identity` on every request to the gateway. */
export function identifiedFetch(identity: ClientIdentity, ca: string | undefined): IdentifiedFetch {
  const tls = identity.kind === 'certificate' ? { cert: identity.cert, key: identity.key } : {};
  const dispatcher = new Agent({ connect: { ...tls, ...(ca === undefined ? {} : { ca }) } });
  const bearer = identity.kind === 'token' ? `Bearer ${identity.token}` : undefined;
  const fetchWithIdentity = ((url: string | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    if (bearer !== undefined) headers.set('authorization', bearer);
    // undici's fetch and the global one differ only in type declarations.
    return undiciFetch(url, { ...(init as object), headers: Object.fromEntries(headers), dispatcher }) as unknown as Promise<Response>;
  }) as typeof fetch;
  return { fetch: fetchWithIdentity, close: () => dispatcher.close() };
}
