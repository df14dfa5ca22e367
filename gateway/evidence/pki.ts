/**
 * The PKI section of the evidence: the agent certificates the development
 * PKI issued (valid, expired or revoked), the CRL and the identity
 * revocation list, read from the files the configuration names.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateEvidence, PkiEvidence } from '../client/evidence.js';
import { configuredPki } from '../config/pki-files.js';
import { resolveConfigPath } from '../config/load.js';
import type { PortcullisConfig } from '../config/sections.js';
import { normaliseSerial } from '../pki/certs.js';
import { parseCrl } from '../pki/crl.js';
import { pkiPaths, readIdentityList } from '../pki/store.js';

function certificateOf(file: string, revoked: Set<string>, now: number): CertificateEvidence | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(file));
  } catch {
    return undefined;
  }
  const serial = normaliseSerial(cert.serialNumber);
  const identity = cert.subjectAltName?.split(', ').find((n) => n.startsWith('URI:'))?.slice(4);
  const notAfter = new Date(cert.validTo);
  const state = revoked.has(serial) ? 'revoked' : notAfter.getTime() < now ? 'expired' : 'valid';
  return {
    name: path.basename(file, '.pem'),
    serial,
    ...(identity === undefined ? {} : { identity }),
    not_before: new Date(cert.validFrom).toISOString(),
    not_after: notAfter.toISOString(),
    state,
  };
}

export function pkiEvidence(config: PortcullisConfig, now = Date.now()): PkiEvidence {
  const pki = configuredPki(config);
  const caPem = readFileSync(pki.ca, 'utf8');
  const serverCert = readFileSync(pki.serverCert, 'utf8');
  const crlEntries = pki.crl !== undefined && existsSync(pki.crl) ? parseCrl(readFileSync(pki.crl, 'utf8'), caPem) : undefined;
  const revoked = new Set((crlEntries ?? []).map((e) => e.serial));
  const agentsDir = pki.own ? undefined : pkiPaths(resolveConfigPath(config, config.tls.dir)).agentsDir;
  const certificates =
    agentsDir === undefined || !existsSync(agentsDir)
      ? []
      : readdirSync(agentsDir)
          .filter((n) => n.endsWith('.pem') && !n.endsWith('-key.pem'))
          .sort()
          .flatMap((n) => certificateOf(path.join(agentsDir, n), revoked, now) ?? []);
  const list = pki.revokedIdentities === undefined ? { identities: [], tokens: [] } : readIdentityList({ file: pki.revokedIdentities, keyPem: '', certPem: serverCert });
  const serverNotAfter = new Date(new X509Certificate(serverCert).validTo);
  return {
    own: pki.own,
    server: { not_after: serverNotAfter.toISOString(), expired: serverNotAfter.getTime() < now },
    certificates,
    crl: { present: crlEntries !== undefined, revoked: (crlEntries ?? []).map((e) => ({ serial: e.serial, revoked_at: e.revokedAt.toISOString() })) },
    revoked_identities: list.identities.map((e) => ({ id: e.id, revoked_at: e.revoked_at })),
    revoked_tokens: list.tokens.length,
  };
}
