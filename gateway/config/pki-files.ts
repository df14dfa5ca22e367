/**
 * The key material and revocation files portcullis.yaml's `tls` section
 * names: its own files (tls.ca, tls.cert, tls.key, tls.crl,
 * tls.revoked_identities), else the development PKI in tls.dir.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { ConfigError, resolveConfigPath } from './load.js';
import { DNS_NAME } from './spine-schema.js';
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

/** The variable that adds server names to `tls.server_names` (comma-separated): a container's name is known where it runs. */
export const SERVER_NAMES_VARIABLE = 'PORTCULLIS_SERVER_NAMES';

/** The names this listener is reached by: `tls.server_names` and $PORTCULLIS_SERVER_NAMES, each once. */
export function serverNames(config: PortcullisConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env[SERVER_NAMES_VARIABLE] ?? '').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  for (const name of fromEnv) if (!DNS_NAME.test(name)) throw new ConfigError(`${SERVER_NAMES_VARIABLE}: "${name}" is not a DNS name`);
  return [...new Set([...(config.tls.server_names ?? []), ...fromEnv])];
}

/** The names a certificate does not carry as dNSName (a PKI made before they were configured). */
export function namesMissingFrom(certPem: string, names: readonly string[]): string[] {
  const carried = new Set((new X509Certificate(certPem).subjectAltName ?? '').split(', ').filter((san) => san.startsWith('DNS:')).map((san) => san.slice(4).toLowerCase()));
  return names.filter((name) => !carried.has(name));
}
