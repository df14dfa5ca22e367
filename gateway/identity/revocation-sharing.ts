/**
 * Revocations fanned out to every replica: each replica stores its own lists
 * (the signed CRL and identity list texts) in shared state whenever its files
 * change, and adopts every peer's, verified, as they are announced and after
 * each reconnection. A revocation made on any replica's files is then
 * refused by all of them, and its open connections closed.
 */
import type { SharedRecords } from '../state/records.js';
import type { LogSink } from '../util/log.js';
import type { RevocationKind, RevocationList } from './revocation.js';

interface SharedList {
  kind: RevocationKind;
  replica: string;
  text: string;
}

const KINDS: readonly RevocationKind[] = ['crl', 'identities'];

export function shareRevocations(list: RevocationList, records: SharedRecords, replica: string, log: LogSink): () => void {
  const publish = (kind: RevocationKind, text: string): void => {
    const value: SharedList = { kind, replica, text };
    records.put(`${kind}:${replica}`, JSON.stringify(value)).catch(() => log('error', 'revocation list not shared (shared state unavailable): peers learn it on reconnection', { kind }));
  };
  const adopt = (value: string): void => {
    let shared: SharedList;
    try {
      shared = JSON.parse(value) as SharedList;
      if (shared.replica === replica) return;
      list.adoptPeer(shared.kind, shared.text);
    } catch (err) {
      log('error', 'a peer revocation list does not verify: ignored', { error: err instanceof Error ? err.message : 'unreadable' });
    }
  };
  const resync = (): void => {
    for (const kind of KINDS) {
      const text = list.localText(kind);
      if (text !== undefined) publish(kind, text);
    }
    records.all().then(
      (values) => values.forEach(adopt),
      () => undefined,
    );
  };
  const unsubscribe = [list.onLocalChange(publish), records.onChange(adopt), records.onResync(resync)];
  if (records.available) resync();
  return () => unsubscribe.forEach((stop) => stop());
}
