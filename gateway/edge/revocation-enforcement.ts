/**
 * Revocation on what is already open. Every TLS connection is tracked with
 * the credentials seen on it (its client certificate's serial, the identity
 * of its latest request); every request is checked against the current
 * revocation state; and when that state changes, connections and MCP
 * sessions whose credentials are now refused are closed at once, in the
 * same turn, so no request slips in between. A new connection with a revoked
 * certificate is kept just long enough for its first request to be answered
 * with the reason (401), so a client can say why it was refused.
 */
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../errors.js';
import type { AgentIdentity } from '../identity/agent.js';
import type { RevocationList } from '../identity/revocation.js';
import { normaliseSerial } from '../pki/certs.js';
import type { LogSink } from '../util/log.js';

interface Seen {
  /** The client certificate's serial (mTLS listeners). */
  serial?: string;
  /** The identity of the latest request on this connection (HTTP/1.1 serves one at a time). */
  identity?: AgentIdentity;
}

export class RevocationEnforcement {
  private readonly open = new Map<TLSSocket, Seen>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly revocation: RevocationList,
    /** Closes the MCP sessions whose agent `refused` picks. */
    private readonly closeSessions: (refused: (agent: AgentIdentity) => boolean) => void,
    private readonly log: LogSink,
  ) {
    this.unsubscribe = revocation.onChange(() => this.enforce());
  }

  /** A new TLS connection; a revoked client certificate's requests are refused (see certificateRefusal). */
  connected(socket: TLSSocket, clientCertificates: boolean): void {
    const seen: Seen = {};
    if (clientCertificates) {
      const serial = socket.getPeerCertificate()?.serialNumber;
      if (serial === undefined) {
        socket.destroy();
        return;
      }
      if (this.revocation.isRevoked(serial)) this.log('warn', 'refused revoked client certificate', { serial });
      seen.serial = normaliseSerial(serial);
    }
    this.open.set(socket, seen);
    socket.once('close', () => this.open.delete(socket));
  }

  /** Why the connection's client certificate is refused now (revoked, or the CRL unusable), or undefined. */
  certificateRefusal(socket: TLSSocket): string | undefined {
    const serial = this.open.get(socket)?.serial;
    return serial === undefined ? undefined : this.revocation.serialRefusal(serial);
  }

  /** Checks a request's identity against the current state; remembers it for the connection. */
  admit(socket: TLSSocket, identity: AgentIdentity): void {
    const reason = this.revocation.refusal(identity);
    if (reason !== undefined) throw new GatewayError('unauthenticated', reason);
    const seen = this.open.get(socket);
    if (seen !== undefined) seen.identity = identity;
  }

  private refusal(seen: Seen): string | undefined {
    if (seen.identity !== undefined) return this.revocation.refusal(seen.identity);
    return seen.serial === undefined ? undefined : this.revocation.serialRefusal(seen.serial);
  }

  /** After a change: closes the connections and sessions it revoked. */
  private enforce(): void {
    for (const [socket, seen] of this.open) {
      const reason = this.refusal(seen);
      if (reason === undefined) continue;
      this.log('warn', 'closed a connection whose credentials were revoked', { reason, ...(seen.identity === undefined ? {} : { agent: seen.identity.id }) });
      this.open.delete(socket);
      socket.destroy();
    }
    this.closeSessions((agent) => this.revocation.refusal(agent) !== undefined);
  }

  close(): void {
    this.unsubscribe();
    this.open.clear();
  }
}
