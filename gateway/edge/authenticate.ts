/**
 * Who is calling, per listener: the verified client certificate (mTLS) or a
 * bearer JWT. Certificate identities are computed once per TLS connection.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AgentIdentity } from '../identity/agent.js';
import type { JwtAuthenticator } from '../identity/jwt.js';
import { identityFromCertificate, verifiedPeerCertificate } from '../identity/mtls.js';
import type { AgentConfig } from '../config/spine-schema.js';

/** A certificate identity is known at once (no promise per request); a token is verified asynchronously. */
export type Authenticate = (req: IncomingMessage) => AgentIdentity | Promise<AgentIdentity>;

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

export function jwtAuthenticator(jwt: JwtAuthenticator): Authenticate {
  return (req) => jwt.identify(req.headers.authorization);
}
