/**
 * X.509 certificates for the development PKI, built with node-forge.
 * Key pairs come from node:crypto (fast, native); forge signs the certificates.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 86_400_000;

export function validFor(days: number, from = new Date()): Validity {
  // Back-date a little so a clock slightly behind still accepts a fresh certificate.
  return { notBefore: new Date(from.getTime() - 5 * 60_000), notAfter: new Date(from.getTime() + days * DAY_MS) };
}

function newRsaKey(): { keyPem: string; publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { keyPem: privateKey, publicKey, privateKey: forgeKey };
}

/** A random positive 128-bit serial, hex (the high bit cleared keeps DER INTEGER positive). */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01;
  return bytes.toString('hex');
}

function sign(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey): string {
  cert.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export function createCa(trustDomain: string, validity = validFor(3650)): KeyAndCert {
  const key = newRsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = newSerial();
  cert.validity = validity;
  const subject = [
    { name: 'commonName', value: `Portcullis development CA (${trustDomain})` },
    { name: 'organizationName', value: 'Portcullis' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { keyPem: key.keyPem, certPem: sign(cert, key.privateKey) };
}

interface Leaf {
  commonName: string;
  altNames: Array<{ type: number; value?: string; ip?: string }>;
  usage: 'serverAuth' | 'clientAuth';
  validity: Validity;
}

function createLeaf(ca: KeyAndCert, leaf: Leaf): KeyAndCert {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey;
  const key = newRsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = newSerial();
  cert.validity = leaf.validity;
  cert.setSubject([{ name: 'commonName', value: leaf.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', [leaf.usage]: true },
    { name: 'subjectAltName', altNames: leaf.altNames },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  return { keyPem: key.keyPem, certPem: sign(cert, caKey) };
}

// GeneralName tags (RFC 5280): 2 dNSName, 6 uniformResourceIdentifier, 7 iPAddress.
const DNS = 2;
const URI = 6;
const IP = 7;

/** The gateway's TLS certificate: valid for localhost, 127.0.0.1 and ::1, plus extra DNS names. */
export function createServerCert(ca: KeyAndCert, extraDnsNames: string[] = [], validity = validFor(825)): KeyAndCert {
  return createLeaf(ca, {
    commonName: 'localhost',
    altNames: [
      { type: DNS, value: 'localhost' },
      ...extraDnsNames.map((value) => ({ type: DNS, value })),
      { type: IP, ip: '127.0.0.1' },
      { type: IP, ip: '::1' },
    ],
    usage: 'serverAuth',
    validity,
  });
}

export function spiffeId(trustDomain: string, agent: string): string {
  return `spiffe://${trustDomain}/agent/${agent}`;
}

/** An agent's client certificate: SAN URI spiffe://<trust-domain>/agent/<agent>. */
export function createClientCert(ca: KeyAndCert, trustDomain: string, agent: string, validity = validFor(90)): KeyAndCert {
  return createLeaf(ca, {
    commonName: agent,
    altNames: [{ type: URI, value: spiffeId(trustDomain, agent) }],
    usage: 'clientAuth',
    validity,
  });
}

/**
 * An administrator's client certificate (approves holds and tools): SAN URI
 * spiffe://<trust-domain>/admin/<name>, a path no agent identity can have.
 */
export function createAdminCert(ca: KeyAndCert, trustDomain: string, name: string, validity = validFor(90)): KeyAndCert {
  return createLeaf(ca, {
    commonName: name,
    altNames: [{ type: URI, value: `spiffe://${trustDomain}/admin/${name}` }],
    usage: 'clientAuth',
    validity,
  });
}

/** Serial numbers compare as lowercase hex without leading zeros (as TLS peers report them). */
export function normaliseSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

export function serialOf(certPem: string): string {
  return normaliseSerial(forge.pki.certificateFromPem(certPem).serialNumber);
}
