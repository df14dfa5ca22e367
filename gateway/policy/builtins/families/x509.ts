/**
 * crypto.x509.* and crypto.parse_private_keys: certificates, certificate
 * requests and keys from PEM, base64 PEM or base64 DER, rendered with the
 * field names of Go's x509 structures that policies read (Subject, DNSNames…).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { BuiltinError, str, type BuiltinTable } from '../operands.js';
import { fromJson } from '../value.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const B64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

interface Pem { type: string; der: Buffer }

/** PEM blocks, or undefined when the text is not PEM. */
function pemBlocks(text: string): Pem[] | undefined {
  if (!text.includes('-----BEGIN')) return undefined;
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ type: m[1] as string, der: Buffer.from((m[2] as string).replace(/\s+/g, ''), 'base64') }));
}

/** PEM text, or base64 of PEM, or base64 of DER. */
function decodeInput(text: string): { pem?: Pem[]; der?: Buffer } {
  const pem = pemBlocks(text);
  if (pem) return { pem };
  if (!B64.test(text)) throw new BuiltinError('illegal base64 data');
  const bytes = Buffer.from(text, 'base64');
  const inner = pemBlocks(bytes.toString('latin1'));
  return inner ? { pem: inner } : { der: bytes };
}

/** Splits concatenated DER structures (a certificate chain) by their ASN.1 lengths. */
function splitDer(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== 0x30 || pos + 2 > buf.length) throw new BuiltinError('x509: malformed certificate');
    let len = buf[pos + 1] as number;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || pos + 2 + n > buf.length) throw new BuiltinError('x509: malformed certificate');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (buf[pos + 2 + i] as number);
      header += n;
    }
    const end = pos + header + len;
    if (end > buf.length) throw new BuiltinError('x509: malformed certificate');
    out.push(buf.subarray(pos, end));
    pos = end;
  }
  return out;
}

function certificates(text: string): X509Certificate[] {
  const { pem, der } = decodeInput(text);
  const blobs = pem ? pem.filter((b) => b.type === 'CERTIFICATE').map((b) => b.der) : splitDer(der as Buffer);
  if (blobs.length === 0) throw new BuiltinError('x509: no certificates found');
  try {
    return blobs.map((b) => new X509Certificate(b));
  } catch {
    throw new BuiltinError('x509: malformed certificate');
  }
}

// ---- Go pkix.Name ----

const NAME_FIELDS: Record<string, { field: string; oid: number[] }> = {
  C: { field: 'Country', oid: [2, 5, 4, 6] },
  O: { field: 'Organization', oid: [2, 5, 4, 10] },
  OU: { field: 'OrganizationalUnit', oid: [2, 5, 4, 11] },
  L: { field: 'Locality', oid: [2, 5, 4, 7] },
  ST: { field: 'Province', oid: [2, 5, 4, 8] },
  street: { field: 'StreetAddress', oid: [2, 5, 4, 9] },
  postalCode: { field: 'PostalCode', oid: [2, 5, 4, 17] },
  serialNumber: { field: 'SerialNumber', oid: [2, 5, 4, 5] },
  CN: { field: 'CommonName', oid: [2, 5, 4, 3] },
};
const SINGLE = new Set(['SerialNumber', 'CommonName']);

function pkixName(attributes: [string, string][]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Country: null, Organization: null, OrganizationalUnit: null, Locality: null, Province: null,
    StreetAddress: null, PostalCode: null, SerialNumber: '', CommonName: '', Names: [], ExtraNames: null,
  };
  const names: unknown[] = [];
  for (const [key, val] of attributes) {
    const f = NAME_FIELDS[key];
    if (!f) continue;
    names.push({ Type: f.oid, Value: val });
    if (SINGLE.has(f.field)) out[f.field] = val;
    else out[f.field] = [...((out[f.field] as string[] | null) ?? []), val];
  }
  out['Names'] = names;
  return out;
}

/** Node's multi-line "K=V" distinguished name text. */
const nameAttributes = (dn: string): [string, string][] =>
  dn.split('\n').filter(Boolean).map((line) => {
    const eq = line.indexOf('=');
    return [line.slice(0, eq), line.slice(eq + 1)] as [string, string];
  });

function altNames(cert: X509Certificate, prefix: string): string[] | null {
  const found = (cert.subjectAltName ?? '').split(/, (?=[A-Za-z ]+:)/)
    .filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length).replace(/^"(.*)"$/, '$1'));
  return found.length ? found : null;
}

const PUBLIC_KEY_ALGORITHM: Record<string, number> = { rsa: 1, dsa: 2, ec: 3, ed25519: 4 };
const rfc3339 = (d: string): string => new Date(d).toISOString().replace(/\.000Z$/, 'Z');

function certificateJson(c: X509Certificate): Record<string, unknown> {
  const uris = altNames(c, 'URI:');
  return {
    Raw: c.raw.toString('base64'),
    SerialNumber: BigInt(`0x${c.serialNumber}`),
    Subject: pkixName(nameAttributes(c.subject)),
    Issuer: pkixName(nameAttributes(c.issuer)),
    NotBefore: rfc3339(c.validFrom),
    NotAfter: rfc3339(c.validTo),
    IsCA: c.ca,
    PublicKeyAlgorithm: PUBLIC_KEY_ALGORITHM[c.publicKey.asymmetricKeyType ?? ''] ?? 0,
    DNSNames: altNames(c, 'DNS:'),
    EmailAddresses: altNames(c, 'email:'),
    IPAddresses: altNames(c, 'IP Address:'),
    URIs: uris,
    URIStrings: uris,
    ExtKeyUsage: c.keyUsage ?? null,
  };
}

/** Chain order: leaf first, each certificate issued by the next, the last one self-signed; all valid now. */
function chainVerifies(certs: X509Certificate[]): boolean {
  const now = Date.now();
  return certs.every((c, i) => {
    const issuer = certs[i + 1] ?? c;
    const inTime = new Date(c.validFrom).getTime() <= now && now <= new Date(c.validTo).getTime();
    const issuerIsCa = i === 0 && certs.length === 1 ? true : issuer.ca;
    return inTime && issuerIsCa && c.checkIssued(issuer) && c.verify(issuer.publicKey);
  });
}

function privateKeys(text: string): KeyObject[] {
  const { pem } = decodeInput(text);
  return (pem ?? []).filter((b) => b.type.endsWith('PRIVATE KEY')).map((b) =>
    createPrivateKey(`-----BEGIN ${b.type}-----\n${b.der.toString('base64')}\n-----END ${b.type}-----`));
}

function certificateRequest(text: string): Record<string, unknown> {
  const { pem, der } = decodeInput(text);
  const bytes = pem ? pem.find((b) => b.type.endsWith('CERTIFICATE REQUEST'))?.der : der;
  if (!bytes) throw new BuiltinError('no certificate request found');
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary'))));
  } catch {
    throw new BuiltinError('asn1: structure error');
  }
  const attrs = csr.subject.attributes.map((a): [string, string] => [String(a.shortName ?? a.name ?? ''), String(a.value)]);
  return { Raw: bytes.toString('base64'), Subject: pkixName(attrs), Version: csr.version };
}

export const x509Builtins: BuiltinTable = {
  'crypto.x509.parse_certificates': (s) => fromJson(certificates(str(s)).map(certificateJson)),
  'crypto.x509.parse_and_verify_certificates': (s) => {
    // Given root first and leaf last; verified and returned leaf first, as OPA does.
    const chain = certificates(str(s)).reverse();
    return chainVerifies(chain) ? [true, fromJson(chain.map(certificateJson))] : [false, []];
  },
  'crypto.x509.parse_certificate_request': (s) => fromJson(certificateRequest(str(s))),
  'crypto.x509.parse_rsa_private_key': (s) => {
    const [key] = privateKeys(str(s));
    if (!key || key.asymmetricKeyType !== 'rsa') throw new BuiltinError('no RSA private key found');
    return fromJson(key.export({ format: 'jwk' }));
  },
  'crypto.x509.parse_keypair': (c, k) => {
    const certs = certificates(str(c));
    const [key] = privateKeys(str(k));
    const leaf = certs[0] as X509Certificate;
    if (!key || !leaf.checkPrivateKey(key)) throw new BuiltinError('private key does not match public key');
    return fromJson({ Certificate: certs.map((x) => x.raw.toString('base64')), PrivateKey: key.export({ format: 'jwk' }), Leaf: null });
  },
  'crypto.parse_private_keys': (s) => {
    const text = str(s);
    if (text === '') return null;
    try {
      return fromJson(privateKeys(text).map((k) => k.export({ format: 'jwk' })));
    } catch {
      return [];
    }
  },
};

