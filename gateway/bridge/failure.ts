/**
 * Why the bridge cannot reach the gateway, in one short line: the cause of a
 * failed connection (TLS alert, socket error) or the gateway's own refusal.
 * Lines go to stderr once per change of reason, so a gateway that is down
 * for an hour is one line, and its return is another.
 */
import { ERRORS } from '../errors.js';
import { sanitizeText } from '../sanitize/text.js';

/** Connection-level causes, by the error code Node or undici gives them. */
const CAUSES: Record<string, (where: string) => string> = {
  ECONNREFUSED: (where) => `gateway down: nothing listens at ${where}`,
  ECONNRESET: (where) => `gateway at ${where} closed the connection`,
  UND_ERR_SOCKET: (where) => `gateway at ${where} closed the connection`,
  ENOTFOUND: (where) => `gateway host of ${where} not found`,
  EAI_AGAIN: (where) => `gateway host of ${where} not found`,
  ETIMEDOUT: (where) => `gateway at ${where} did not answer in time`,
  UND_ERR_CONNECT_TIMEOUT: (where) => `gateway at ${where} did not answer in time`,
  // The gateway's TLS alerts about the client certificate.
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: () => 'the gateway requires a client certificate (--agent, or --cert and --key)',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: () => 'the gateway refused the TLS handshake (does it require a client certificate?)',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: () => 'the gateway refused the client certificate: expired',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: () => 'the gateway refused the client certificate: revoked',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: () => 'the gateway refused the client certificate: not signed by a CA it trusts',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: () => 'the gateway refused the client certificate',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: () => 'the gateway refused the client certificate',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: () => 'the gateway refused the client certificate',
  // The bridge's own check of the gateway's server certificate.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: () => "the gateway's server certificate is not signed by the trusted CA (--ca)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: () => "the gateway's server certificate is not signed by the trusted CA (--ca)",
  SELF_SIGNED_CERT_IN_CHAIN: () => "the gateway's server certificate is not signed by the trusted CA (--ca)",
  DEPTH_ZERO_SELF_SIGNED_CERT: () => "the gateway's server certificate is self-signed and not trusted (--ca)",
  CERT_HAS_EXPIRED: () => "the gateway's server certificate expired",
  ERR_TLS_CERT_ALTNAME_INVALID: (where) => `the gateway's server certificate does not name ${where}`,
};

/** The first `code` along an error's cause chain (fetch wraps the socket error in a TypeError). */
function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * The reason a request to the gateway failed, or undefined when the error is
 * not a failure to reach it (the caller then says nothing). Reasons are short
 * enough to be a registered error's detail (errors.ts keeps details to 80 characters).
 */
export function connectionFailure(err: unknown, url: URL): string | undefined {
  const code = codeOf(err);
  if (code === undefined) return undefined;
  const describe = CAUSES[code];
  if (describe !== undefined) return describe(url.host);
  return code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') ? `TLS with the gateway failed (${code})` : undefined;
}

/** A 401's message is the registry's `unauthenticated` message and the gateway's reason: the reason is what to say. */
const UNAUTHENTICATED = `${ERRORS.unauthenticated.message}: `;

/** The gateway answered an HTTP error instead of serving (401, 403): its own JSON-RPC message says why. */
export function gatewayRefusal(status: number, body: string): string {
  let message: unknown;
  try {
    message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
  } catch {
    message = undefined;
  }
  if (typeof message !== 'string') return `the gateway refused the request (HTTP ${status})`;
  const said = sanitizeText(message.startsWith(UNAUTHENTICATED) ? message.slice(UNAUTHENTICATED.length) : message, { maxLength: 60 });
  return status === 401 ? `the gateway refused the identity: ${said}` : `the gateway refused the request: ${said}`;
}

/** Writes a reason once, until it changes; says so when the gateway serves again. */
export class FailureReporter {
  private last: string | undefined;

  constructor(private readonly write: (line: string) => void) {}

  failed(reason: string): void {
    if (reason === this.last) return;
    this.last = reason;
    this.write(`portcullis connect: ${reason}\n`);
  }

  served(url: URL): void {
    if (this.last === undefined) return;
    this.last = undefined;
    this.write(`portcullis connect: reached the gateway at ${url.host} again\n`);
  }
}
