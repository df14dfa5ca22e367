/**
 * The development PKI on disk (the `certs/` folder): which file holds what,
 * and the `certs init|issue|revoke` and `token revoke` operations (the CRL
 * and the identity revocation list). Private keys are mode 0600.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCa, createClientCert, createServerCert, normaliseSerial, serialOf, spiffeId, validFor } from './certs.js';
import type { KeyAndCert, Validity } from './certs.js';
import { buildCrl, parseCrl } from './crl.js';
import { buildIdentityList, parseIdentityList } from './identity-list.js';
import type { IdentityList } from './identity-list.js';
import { AGENT_NAME } from '../util/agent-name.js';

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  crl: string;
  /** Revoked agent identities and token ids (identity-list.ts). */
  revokedIdentities: string;
  agentsDir: string;
}

export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server-key.pem'),
    crl: path.join(dir, 'crl.pem'),
    revokedIdentities: path.join(dir, 'revoked-identities.json'),
    agentsDir: path.join(dir, 'agents'),
  };
}

export interface AgentFiles {
  cert: string;
  key: string;
}


export function agentFiles(paths: PkiPaths, agent: string): AgentFiles {
  if (!AGENT_NAME.test(agent) || agent.startsWith('.')) {
    throw new Error(`invalid agent name "${agent}": use 1-64 letters, digits, '.', '_' or '-'`);
  }
  return { cert: path.join(paths.agentsDir, `${agent}.pem`), key: path.join(paths.agentsDir, `${agent}-key.pem`) };
}

/** Writes via a temporary file and rename so a reader never sees half a file. */
function writeAtomic(file: string, data: string, mode: number): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function writePair(pair: KeyAndCert, certFile: string, keyFile: string): void {
  writeAtomic(keyFile, pair.keyPem, 0o600);
  writeAtomic(certFile, pair.certPem, 0o644);
}

function readCa(paths: PkiPaths): KeyAndCert {
  if (!existsSync(paths.caCert) || !existsSync(paths.caKey)) {
    throw new Error(`no CA in ${paths.dir}: run "portcullis certs init" first`);
  }
  return { certPem: readFileSync(paths.caCert, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') };
}

export function hasPki(paths: PkiPaths): boolean {
  return [paths.caCert, paths.caKey, paths.serverCert, paths.serverKey].every((f) => existsSync(f));
}

/**
 * Creates CA, server certificate (for localhost and `serverNames`), an empty
 * CRL and identity list. Refuses to overwrite an existing CA unless forced.
 */
export function initPki(paths: PkiPaths, trustDomain: string, options: { force?: boolean; serverNames?: readonly string[] } = {}): void {
  if (existsSync(paths.caCert) && !options.force) {
    throw new Error(`${paths.caCert} already exists (use --force to replace the whole PKI)`);
  }
  const ca = createCa(trustDomain);
  const server = createServerCert(ca, [...(options.serverNames ?? [])]);
  writePair(ca, paths.caCert, paths.caKey);
  writePair(server, paths.serverCert, paths.serverKey);
  writeAtomic(paths.crl, buildCrl(ca.certPem, ca.keyPem, []), 0o644);
  writeAtomic(paths.revokedIdentities, buildIdentityList({ identities: [], tokens: [] }, server.keyPem), 0o644);
}

export function issueAgent(paths: PkiPaths, trustDomain: string, agent: string, validity: Validity = validFor(90)): AgentFiles {
  const files = agentFiles(paths, agent);
  writePair(createClientCert(readCa(paths), trustDomain, agent, validity), files.cert, files.key);
  return files;
}

/** Where the identity revocation list is, and the key pair that signs it (the gateway's server key). */
export interface IdentityListFile {
  file: string;
  keyPem: string;
  certPem: string;
}

/** The list's entries; a missing file is an empty list, one that does not verify is an error. */
export function readIdentityList(list: IdentityListFile): IdentityList {
  return existsSync(list.file) ? parseIdentityList(readFileSync(list.file, 'utf8'), list.certPem) : { identities: [], tokens: [] };
}

/** Writes an empty, signed list unless one exists (a list from before this gateway version, or own tls files). */
export function ensureIdentityList(list: IdentityListFile): void {
  if (!existsSync(list.file)) writeAtomic(list.file, buildIdentityList({ identities: [], tokens: [] }, list.keyPem), 0o644);
}

/** Adds identities (ids such as spiffe://<trust-domain>/agent/<name>) and token ids to the list. */
export function revokeIdentities(list: IdentityListFile, revoked: { ids?: string[]; jtis?: string[] }): void {
  const current = readIdentityList(list);
  const revokedAt = new Date().toISOString();
  for (const id of revoked.ids ?? []) if (!current.identities.some((entry) => entry.id === id)) current.identities.push({ id, revoked_at: revokedAt });
  for (const jti of revoked.jtis ?? []) if (!current.tokens.some((entry) => entry.jti === jti)) current.tokens.push({ jti, revoked_at: revokedAt });
  writeAtomic(list.file, buildIdentityList(current, list.keyPem), 0o644);
}

/**
 * Revokes an agent's current certificate (by agent name) or any serial.
 * With `identity`, an agent named is revoked as an identity too: its other
 * certificates and its tokens are refused as well. Returns what was revoked.
 */
export function revoke(paths: PkiPaths, agentOrSerial: string, identity?: { list: IdentityListFile; trustDomain: string }): { serial: string; identity?: string } {
  const ca = readCa(paths);
  let serial: string;
  const byName = AGENT_NAME.test(agentOrSerial) ? agentFiles(paths, agentOrSerial).cert : undefined;
  if (byName && existsSync(byName)) serial = serialOf(readFileSync(byName, 'utf8'));
  else if (/^(0x)?[0-9a-fA-F]{1,64}$/.test(agentOrSerial)) serial = normaliseSerial(agentOrSerial.replace(/^0x/, ''));
  else throw new Error(`"${agentOrSerial}" is neither an issued agent nor a hexadecimal serial`);
  const current = existsSync(paths.crl) ? parseCrl(readFileSync(paths.crl, 'utf8'), ca.certPem) : [];
  if (!current.some((entry) => entry.serial === serial)) current.push({ serial, revokedAt: new Date() });
  let id: string | undefined;
  if (identity !== undefined && byName !== undefined && existsSync(byName)) {
    id = spiffeId(identity.trustDomain, agentOrSerial);
    revokeIdentities(identity.list, { ids: [id] });
  }
  writeAtomic(paths.crl, buildCrl(ca.certPem, ca.keyPem, current), 0o644);
  return id === undefined ? { serial } : { serial, identity: id };
}
