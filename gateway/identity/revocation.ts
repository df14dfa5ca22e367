/**
 * What the gateway refuses: revoked certificate serials (the CRL, signed by
 * the CA) and revoked agent identities and token ids (the identity list,
 * signed with the gateway's server key). Both files are watched (fs.watch,
 * and a stat poll for file systems where that misses changes), so a
 * revocation is seen well within a second without a restart; listeners then
 * close what is already open. Fails closed: while a list cannot be read or
 * verified, every credential it governs is refused. Replicas sharing state
 * also refuse what any peer's lists revoke (adoptPeer; revocation-sharing.ts):
 * a peer's list is verified with the same CA and gateway certificate.
 */
import { readFileSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import path from 'node:path';
import { parseCrl } from '../pki/crl.js';
import { normaliseSerial } from '../pki/certs.js';
import { parseIdentityList } from '../pki/identity-list.js';
import { tokenIdOf } from './agent.js';
import type { AgentIdentity } from './agent.js';

/** The stat poll's period: the bound on how late a change fs.watch missed is seen. */
const POLL_MS = 250;

export interface RevocationSources {
  /** The CRL and the CA certificate it must verify against. */
  crl?: { file: string; caCertPem: string };
  /** The identity list and the gateway certificate it must verify against. */
  identities?: { file: string; signerCertPem: string };
  onProblem?: (message: string) => void;
}

/** One watched file: re-read when its size, modification time or inode changes. */
class WatchedFile<T> {
  private version: string | undefined;
  value: T | undefined;
  /** The text `value` was read from (what is shared with peers). */
  text: string | undefined;
  failure: string | undefined = 'not read yet';

  constructor(
    readonly file: string,
    private readonly parse: (text: string) => T,
  ) {}

  /** True when the file changed (and was re-read). */
  refresh(): boolean {
    let version: string;
    try {
      const st = statSync(this.file);
      version = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      version = 'missing';
    }
    if (version === this.version) return false;
    this.version = version;
    try {
      const text = readFileSync(this.file, 'utf8');
      this.value = this.parse(text);
      this.text = text;
      this.failure = undefined;
    } catch (err) {
      this.value = undefined;
      this.text = undefined;
      this.failure = err instanceof Error ? err.message : 'unreadable';
    }
    return true;
  }
}

/** The two lists: certificate serials (CRL) and identities with token ids. */
export type RevocationKind = 'crl' | 'identities';

export class RevocationList {
  private readonly crl: WatchedFile<ReadonlySet<string>> | undefined;
  private readonly identities: WatchedFile<{ ids: ReadonlySet<string>; jtis: ReadonlySet<string> }> | undefined;
  /** What peers' verified lists revoke besides ours: only ever grows (a revocation anywhere holds everywhere). */
  private readonly peer = { serials: new Set<string>(), ids: new Set<string>(), jtis: new Set<string>() };
  private readonly listeners = new Set<() => void>();
  private readonly localListeners = new Set<(kind: RevocationKind, text: string) => void>();
  private watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly sources: RevocationSources) {
    const { crl, identities } = sources;
    this.crl = crl && new WatchedFile(crl.file, (text) => new Set(parseCrl(text, crl.caCertPem).map((entry) => entry.serial)));
    this.identities =
      identities &&
      new WatchedFile(identities.file, (text) => {
        const list = parseIdentityList(text, identities.signerCertPem);
        return { ids: new Set(list.identities.map((entry) => entry.id)), jtis: new Set(list.tokens.map((entry) => entry.jti)) };
      });
    this.refresh();
  }

  /** Re-reads changed lists; tells the listeners when anything changed. */
  refresh(): void {
    let changed = false;
    for (const [source, governs, kind] of [
      [this.crl, 'client certificates', 'crl'],
      [this.identities, 'agents and tokens', 'identities'],
    ] as const) {
      if (source === undefined || !source.refresh()) continue;
      changed = true;
      if (source.failure !== undefined) this.sources.onProblem?.(`revocation list ${source.file} unusable, refusing all ${governs}: ${source.failure}`);
      const text = source.text;
      if (text !== undefined) for (const listener of this.localListeners) listener(kind, text);
    }
    if (changed) for (const listener of this.listeners) listener();
  }

  /** Whether a certificate serial is refused (checked on each new connection: re-reads a changed CRL first). */
  isRevoked(serial: string): boolean {
    this.refresh();
    return this.serialRefusal(normaliseSerial(serial)) !== undefined;
  }

  /** Why a (normalised) certificate serial is refused now, or undefined. */
  serialRefusal(serial: string): string | undefined {
    if (this.peer.serials.has(serial)) return 'certificate revoked';
    if (this.crl === undefined) return undefined;
    if (this.crl.value === undefined) return 'revocation list unusable';
    return this.crl.value.has(serial) ? 'certificate revoked' : undefined;
  }

  /** Why an identity (its certificate, its id, its token) is refused now, or undefined when it is not. */
  refusal(identity: AgentIdentity): string | undefined {
    const serial = identity.cert?.serial;
    const certificate = serial === undefined ? undefined : this.serialRefusal(serial);
    if (certificate !== undefined) return certificate;
    const jti = tokenIdOf(identity);
    if (this.peer.ids.has(identity.id)) return 'identity revoked';
    if (jti !== undefined && this.peer.jtis.has(jti)) return 'token revoked';
    if (this.identities === undefined) return undefined;
    const list = this.identities.value;
    if (list === undefined) return 'revocation list unusable';
    if (list.ids.has(identity.id)) return 'identity revoked';
    return jti !== undefined && list.jtis.has(jti) ? 'token revoked' : undefined;
  }

  /** This replica's lists as last read, for peers (revocation-sharing.ts). */
  localText(kind: RevocationKind): string | undefined {
    return (kind === 'crl' ? this.crl : this.identities)?.text;
  }

  /** Calls `listener` with a list's text each time this replica's own file changes and verifies. */
  onLocalChange(listener: (kind: RevocationKind, text: string) => void): () => void {
    this.localListeners.add(listener);
    return () => this.localListeners.delete(listener);
  }

  /**
   * A peer replica's list: verified as our own would be (the CA signs the CRL,
   * the gateway certificate the identity list), then what it revokes is
   * refused here too. Throws when it does not verify; tells the listeners
   * when it revokes anything new.
   */
  adoptPeer(kind: RevocationKind, text: string): void {
    const before = this.peer.serials.size + this.peer.ids.size + this.peer.jtis.size;
    if (kind === 'crl') {
      const crl = this.sources.crl;
      if (crl === undefined) return;
      for (const entry of parseCrl(text, crl.caCertPem)) this.peer.serials.add(entry.serial);
    } else {
      const identities = this.sources.identities;
      if (identities === undefined) return;
      const list = parseIdentityList(text, identities.signerCertPem);
      for (const entry of list.identities) this.peer.ids.add(entry.id);
      for (const entry of list.tokens) this.peer.jtis.add(entry.jti);
    }
    if (this.peer.serials.size + this.peer.ids.size + this.peer.jtis.size > before) for (const listener of this.listeners) listener();
  }

  /** Calls `listener` after every change; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Watches the lists until close(). */
  watch(): void {
    if (this.poll !== undefined) return;
    const files = [this.crl?.file, this.identities?.file].filter((file): file is string => file !== undefined);
    for (const dir of new Set(files.map((file) => path.dirname(file)))) {
      const names = new Set(files.filter((file) => path.dirname(file) === dir).map((file) => path.basename(file)));
      try {
        // The directory, not the file: an atomic rename replaces the file a file watch would follow.
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name)) this.refresh();
        });
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch {
        // No fs.watch here (or no directory yet): the poll still sees changes.
      }
    }
    this.poll = setInterval(() => this.refresh(), POLL_MS);
    this.poll.unref();
  }

  close(): void {
    clearInterval(this.poll);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    this.listeners.clear();
    this.localListeners.clear();
  }
}
