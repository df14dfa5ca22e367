/** Identity from a TLS client certificate the handshake has already verified against the CA. */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { GatewayError } from '../errors.js';
import { normaliseSerial } from '../pki/certs.js';
import { agentNameFromSpiffe, rolesFor } from './agent.js';
import type { AgentIdentity } from './agent.js';
import type { AgentConfig } from './config.js';

/** URI entries of a subjectAltName string as Node reports it ("URI:spiffe://..., DNS:x"). */
function sanUris(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
}

export function identityFromCertificate(
  cert: PeerCertificate,
  trustDomain: string,
  agents: Readonly<Record<string, AgentConfig>>,
): AgentIdentity {
  const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
  const uri = sanUris(cert)[0];
  const id = uri ?? cn;
  if (id === undefined) throw new GatewayError('unauthenticated', 'certificate has neither a SAN URI nor a CN');
  // Only an id in our trust domain names a configured agent; anything else stays anonymous to grants.
  const name = uri !== undefined ? (agentNameFromSpiffe(uri, trustDomain) ?? uri) : id;
  return {
    id,
    name,
    auth: 'mtls',
    roles: uri !== undefined && agentNameFromSpiffe(uri, trustDomain) === undefined ? [] : rolesFor(agents, name),
    cert: {
      subject: cn !== undefined ? `CN=${cn}` : '',
      serial: normaliseSerial(cert.serialNumber),
      fingerprint: cert.fingerprint256,
    },
  };
}

/** The verified peer certificate of a TLS socket, or an unauthenticated error. */
export function verifiedPeerCertificate(socket: TLSSocket): PeerCertificate {
  if (!socket.authorized) throw new GatewayError('unauthenticated', 'client certificate not verified');
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) throw new GatewayError('unauthenticated', 'no client certificate');
  return cert;
}
