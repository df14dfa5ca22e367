/**
 * The key material and revocation files portcullis.yaml's `tls` section
 * names: its own files (tls.ca, tls.cert, tls.key, tls.crl,
 * tls.revoked_identities), else the development PKI in tls.dir.
 */
import { readFileSync } from 'node:fs';
import { resolveConfigPath } from './load.js';
import type { PortcullisConfig } from './sections.js';
import { pkiPaths } from '../pki/store.js';
import type { IdentityListFile } from '../pki/store.js';

export interface ConfiguredPki {
  /** Whether tls names its own CA, certificate and key instead of the development PKI. */
  own: boolean;
  ca: string;
  serverKey: string;
  serverCert: string;
  crl: string | undefined;
  /** Unset only for own files without tls.revoked_identities: identity revocation is then off. */
  revokedIdentities: string | undefined;
}

export function configuredPki(config: PortcullisConfig): ConfiguredPki {
  const { tls } = config;
  const resolve = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolveConfigPath(config, p));
  if (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined) {
    if (tls.ca === undefined || tls.cert === undefined || tls.key === undefined) {
      throw new Error('portcullis.yaml: tls.ca, tls.cert and tls.key must be given together');
    }
    return { own: true, ca: resolveConfigPath(config, tls.ca), serverKey: resolveConfigPath(config, tls.key), serverCert: resolveConfigPath(config, tls.cert), crl: resolve(tls.crl), revokedIdentities: resolve(tls.revoked_identities) };
  }
  const paths = pkiPaths(resolveConfigPath(config, tls.dir));
  return { own: false, ca: paths.caCert, serverKey: paths.serverKey, serverCert: paths.serverCert, crl: resolve(tls.crl) ?? paths.crl, revokedIdentities: resolve(tls.revoked_identities) ?? paths.revokedIdentities };
}

/** The identity list and the key pair that signs it; an error when identity revocation is not configured. */
export function identityListFile(config: PortcullisConfig): IdentityListFile {
  const pki = configuredPki(config);
  if (pki.revokedIdentities === undefined) throw new Error('portcullis.yaml: set tls.revoked_identities to revoke agents and tokens (tls names its own files)');
  return { file: pki.revokedIdentities, keyPem: readFileSync(pki.serverKey, 'utf8'), certPem: readFileSync(pki.serverCert, 'utf8') };
}
