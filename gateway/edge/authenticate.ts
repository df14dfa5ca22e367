/**
 * Who is calling, per listener: the verified client certificate (mTLS), or
 * a bearer token (the gateway's own JWTs, OAuth access tokens), whichever of
 * them `listen.auth` enables. Certificate identities are computed once per
 * TLS connection.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../errors.js';
import type { AgentIdentity } from '../identity/agent.js';
import { bearerToken, unverifiedIssuer } from '../identity/jwt.js';
import { identityFromCertificate, verifiedPeerCertificate } from '../identity/mtls.js';
import type { AgentConfig } from '../config/spine-schema.js';

/** A certificate identity is known at once (no promise per request); a token is verified asynchronously. */
export type Authenticate = (req: IncomingMessage) => AgentIdentity | Promise<AgentIdentity>;

/** One kind of bearer token a listener accepts (JwtAuthenticator, OAuthAuthenticator). */
export interface BearerAuthenticator {
  /** Whether tokens naming this issuer are this authenticator's to check. */
  issues(issuer: string): boolean;
  identify(authorization: string | undefined): Promise<AgentIdentity>;
}

/** Whether a TLS client presented a certificate at all (verified or not). */
export function presentedCertificate(socket: TLSSocket): boolean {
  return Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
}

/**
 * Whether the client proved a certificate the CA verifies. A resumed TLS
 * session of a client that sent none can still report `authorized`, so
 * both are checked.
 */
export function certificateVerified(socket: TLSSocket): boolean {
  return socket.authorized && presentedCertificate(socket);
}

export function mtlsAuthenticator(trustDomain: string, agents: Readonly<Record<string, AgentConfig>>): Authenticate {
  const bySocket = new WeakMap<TLSSocket, AgentIdentity>();
  return (req) => {
    const socket = req.socket as TLSSocket;
    let identity = bySocket.get(socket);
    if (identity === undefined) {
      identity = identityFromCertificate(verifiedPeerCertificate(socket), trustDomain, agents);
      bySocket.set(socket, identity);
    }
    return identity;
  };
}

/**
 * One listener, every enabled method. A connection with a verified client
 * certificate is that certificate's agent (a certificate that does not verify
 * never gets this far: the edge closes its connection). Any other request
 * must carry a bearer token; its (unverified) issuer picks the authenticator,
 * which then verifies it with that issuer's keys.
 */
export function listenerAuthenticator(methods: { mtls?: Authenticate; bearer: readonly BearerAuthenticator[] }): Authenticate {
  const { mtls, bearer } = methods;
  const missing = mtls === undefined ? 'bearer token required' : bearer.length === 0 ? 'client certificate required' : 'client certificate or bearer token required';
  return (req) => {
    if (mtls !== undefined && certificateVerified(req.socket as TLSSocket)) return mtls(req);
    const authorization = req.headers.authorization;
    const token = bearerToken(authorization);
    if (token === undefined || bearer.length === 0) throw new GatewayError('unauthenticated', missing);
    const issuer = unverifiedIssuer(token);
    const verifier = (issuer === undefined ? undefined : bearer.find((candidate) => candidate.issues(issuer))) ?? (bearer[0] as BearerAuthenticator);
    return verifier.identify(authorization);
  };
}
