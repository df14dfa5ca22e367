/**
 * The revocation list the gateway checks on every new TLS connection. The CRL
 * file is re-read whenever it changes, so `portcullis certs revoke` takes
 * effect without a restart. Fails closed: while the file cannot be read or
 * verified, every certificate counts as revoked.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseCrl } from '../pki/crl.js';
import { normaliseSerial } from '../pki/certs.js';

export class RevocationList {
  private version = '';
  private revoked: ReadonlySet<string> = new Set();
  private failure: string | undefined;

  constructor(
    private readonly crlFile: string | undefined,
    private readonly caCertPem: string,
    private readonly onProblem: (message: string) => void = () => undefined,
  ) {}

  /** Re-reads the CRL when its size or modification time changed. */
  private refresh(): void {
    if (this.crlFile === undefined) return;
    let version: string;
    try {
      const st = statSync(this.crlFile);
      version = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      version = 'missing';
    }
    if (version === this.version) return;
    this.version = version;
    try {
      const entries = parseCrl(readFileSync(this.crlFile, 'utf8'), this.caCertPem);
      this.revoked = new Set(entries.map((entry) => entry.serial));
      this.failure = undefined;
    } catch (err) {
      this.failure = err instanceof Error ? err.message : 'unreadable';
      this.onProblem(`revocation list ${this.crlFile} unusable, refusing all client certificates: ${this.failure}`);
    }
  }

  isRevoked(serial: string): boolean {
    this.refresh();
    return this.failure !== undefined || this.revoked.has(normaliseSerial(serial));
  }
}
