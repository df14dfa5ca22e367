/**
 * The development PKI on disk (the `certs/` folder): which file holds what,
 * and the `certs init|issue|revoke` operations. Private keys are mode 0600.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCa, createClientCert, createServerCert, normaliseSerial, serialOf, validFor } from './certs.js';
import type { KeyAndCert, Validity } from './certs.js';
import { buildCrl, parseCrl } from './crl.js';
import { AGENT_NAME } from '../identity/agent-name.js';

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  crl: string;
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

/** Creates CA, server certificate and an empty CRL. Refuses to overwrite an existing CA unless forced. */
export function initPki(paths: PkiPaths, trustDomain: string, options: { force?: boolean } = {}): void {
  if (existsSync(paths.caCert) && !options.force) {
    throw new Error(`${paths.caCert} already exists (use --force to replace the whole PKI)`);
  }
  const ca = createCa(trustDomain);
  writePair(ca, paths.caCert, paths.caKey);
  writePair(createServerCert(ca), paths.serverCert, paths.serverKey);
  writeAtomic(paths.crl, buildCrl(ca.certPem, ca.keyPem, []), 0o644);
}

export function issueAgent(paths: PkiPaths, trustDomain: string, agent: string, validity: Validity = validFor(90)): AgentFiles {
  const files = agentFiles(paths, agent);
  writePair(createClientCert(readCa(paths), trustDomain, agent, validity), files.cert, files.key);
  return files;
}

/** Revokes an agent's current certificate (by agent name) or any serial; returns the serial. */
export function revoke(paths: PkiPaths, agentOrSerial: string): string {
  const ca = readCa(paths);
  let serial: string;
  const byName = AGENT_NAME.test(agentOrSerial) ? agentFiles(paths, agentOrSerial).cert : undefined;
  if (byName && existsSync(byName)) serial = serialOf(readFileSync(byName, 'utf8'));
  else if (/^(0x)?[0-9a-fA-F]{1,64}$/.test(agentOrSerial)) serial = normaliseSerial(agentOrSerial.replace(/^0x/, ''));
  else throw new Error(`"${agentOrSerial}" is neither an issued agent nor a hexadecimal serial`);
  const current = existsSync(paths.crl) ? parseCrl(readFileSync(paths.crl, 'utf8'), ca.certPem) : [];
  if (!current.some((entry) => entry.serial === serial)) current.push({ serial, revokedAt: new Date() });
  writeAtomic(paths.crl, buildCrl(ca.certPem, ca.keyPem, current), 0o644);
  return serial;
}
