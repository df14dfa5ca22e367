/**
 * The bridge's way to the gateway: one undici Agent that trusts the gateway's
 * CA and presents the agent's client certificate, or a bearer token added to
 * every request. The identity lives here only: nothing the local client sends
 * can replace it.
 */
import { X509Certificate } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';

export type BridgeCredentials =
  | { kind: 'certificate'; cert: string; key: string }
  | { kind: 'token'; token: string };

export interface LinkOptions {
  url: URL;
  credentials: BridgeCredentials;
  /** PEM of the CA that signed the gateway's server certificate (default: the system's roots). */
  ca?: string;
}

export class GatewayLink {
  readonly url: URL;
  readonly dispatcher: Agent;
  /** Headers every request to the gateway carries (the bearer token, when that is the identity). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(options: LinkOptions) {
    this.url = options.url;
    const { credentials } = options;
    const tls = credentials.kind === 'certificate' ? { cert: credentials.cert, key: credentials.key } : {};
    this.dispatcher = new Agent({ connect: { ...tls, ...(options.ca === undefined ? {} : { ca: options.ca }) } });
    this.headers = credentials.kind === 'token' ? { authorization: `Bearer ${credentials.token}` } : {};
  }

  /** A fetch for the SDK's client transport: this link's TLS identity and headers on every request. */
  readonly fetch = ((url: string | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(this.headers)) headers.set(name, value);
    // undici's fetch and the global one differ only in type declarations.
    return undiciFetch(url, { ...(init as object), headers: Object.fromEntries(headers), dispatcher: this.dispatcher }) as unknown as Promise<Response>;
  }) as typeof fetch;

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** Why a client certificate cannot be used now (expired, not yet valid, unreadable), or undefined. */
export function certificateProblem(certPem: string, now = new Date()): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return 'the client certificate is not a PEM certificate';
  }
  const notAfter = new Date(cert.validTo);
  const notBefore = new Date(cert.validFrom);
  if (now > notAfter) return `the client certificate expired on ${notAfter.toISOString()}`;
  if (now < notBefore) return `the client certificate is not valid before ${notBefore.toISOString()}`;
  return undefined;
}
