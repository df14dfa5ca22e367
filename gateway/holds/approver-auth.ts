import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { ApproverConfig } from './config.js';
import type { Principal } from './types.js';

/** The parts of an HTTP request that carry an identity. */
export interface CredentialSource {
  headers: IncomingHttpHeaders;
  socket: Socket;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer ([\x21-\x7e]{16,4096})$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

function verifiedSanUri(socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const entries = (socket.getPeerCertificate()?.subjectaltname ?? '').split(', ');
  return entries.find((entry) => entry.startsWith('URI:'))?.slice(4);
}

/**
 * Who is calling the admin API. An admin is a configured approver proving
 * itself with a bearer token (compared by SHA-256, in constant time) or a
 * CA-verified client certificate with SAN spiffe://<trust-domain>/admin/<name>.
 * An agent certificate yields an `agent` principal, which can never decide;
 * an admin certificate whose name is not configured an `unlisted` one.
 */
export function approverAuthenticator(
  trustDomain: string,
  approvers: Readonly<Record<string, ApproverConfig>>,
): (request: CredentialSource) => Principal | undefined {
  const byTokenHash = Object.entries(approvers).flatMap(([name, config]) =>
    config.token_sha256 ? [{ name, roles: config.roles, digest: Buffer.from(config.token_sha256, 'hex') }] : [],
  );
  const adminPrefix = `spiffe://${trustDomain}/admin/`;
  const agentPrefix = `spiffe://${trustDomain}/agent/`;

  return (request) => {
    const token = bearerToken(request.headers);
    if (token !== undefined) {
      const digest = sha256(token);
      // Compare against every entry so timing does not reveal which one matched.
      let found: (typeof byTokenHash)[number] | undefined;
      for (const entry of byTokenHash) if (timingSafeEqual(entry.digest, digest) && !found) found = entry;
      return found ? { kind: 'admin', id: `token:${found.name}`, name: found.name, roles: [...found.roles] } : undefined;
    }
    const uri = verifiedSanUri(request.socket);
    if (uri === undefined) return undefined;
    if (uri.startsWith(adminPrefix)) {
      const name = uri.slice(adminPrefix.length);
      const config = Object.hasOwn(approvers, name) ? approvers[name] : undefined;
      return config ? { kind: 'admin', id: uri, name, roles: [...config.roles] } : { kind: 'unlisted', id: uri, name, roles: [] };
    }
    if (uri.startsWith(agentPrefix)) return { kind: 'agent', id: uri, name: uri.slice(agentPrefix.length), roles: [] };
    return undefined;
  };
}
