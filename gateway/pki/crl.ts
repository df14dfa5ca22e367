/**
 * X.509 v2 certificate revocation lists (RFC 5280 §5), which node-forge does
 * not provide: built and parsed here with forge's ASN.1 and RSA primitives.
 * Parsing verifies the CA signature, so a forged list cannot un-revoke anything.
 */
import forge from 'node-forge';
import { normaliseSerial } from './certs.js';

const { asn1 } = forge;
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
}

function algorithmIdentifier(): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(SHA256_WITH_RSA).getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ]);
}

function utcTime(date: Date): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));
}

function serialInteger(serialHex: string): forge.asn1.Asn1 {
  let hex = serialHex.length % 2 === 0 ? serialHex : `0${serialHex}`;
  // DER INTEGER is signed: a leading byte >= 0x80 needs a zero byte before it.
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, forge.util.hexToBytes(hex));
}

export function buildCrl(caCertPem: string, caKeyPem: string, revoked: RevokedEntry[], now = new Date()): string {
  const caCert = forge.pki.certificateFromPem(caCertPem);
  const caKey = forge.pki.privateKeyFromPem(caKeyPem) as forge.pki.rsa.PrivateKey;
  const tbsParts: forge.asn1.Asn1[] = [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, String.fromCharCode(1)),
    algorithmIdentifier(),
    forge.pki.distinguishedNameToAsn1(caCert.subject),
    utcTime(now),
    utcTime(new Date(now.getTime() + 30 * 86_400_000)),
  ];
  if (revoked.length > 0) {
    tbsParts.push(
      asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.SEQUENCE,
        true,
        revoked.map((entry) =>
          asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [serialInteger(entry.serial), utcTime(entry.revokedAt)]),
        ),
      ),
    );
  }
  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, tbsParts);
  const md = forge.md.sha256.create();
  md.update(asn1.toDer(tbs).getBytes());
  const signature = caKey.sign(md);
  const crl = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithmIdentifier(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature),
  ]);
  return forge.pem.encode({ type: 'X509 CRL', body: asn1.toDer(crl).getBytes() });
}

export class CrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrlError';
  }
}

function children(node: forge.asn1.Asn1 | undefined, what: string): forge.asn1.Asn1[] {
  if (!node || !Array.isArray(node.value)) throw new CrlError(`malformed CRL: ${what}`);
  return node.value;
}

function bytesOf(node: forge.asn1.Asn1 | undefined, what: string): string {
  if (!node || typeof node.value !== 'string') throw new CrlError(`malformed CRL: ${what}`);
  return node.value;
}

function dateOf(node: forge.asn1.Asn1 | undefined, what: string): Date {
  const text = bytesOf(node, what);
  return node?.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(text) : asn1.generalizedTimeToDate(text);
}

/** Revoked entries of a CRL signed by the given CA; throws CrlError when it is not. */
export function parseCrl(crlPem: string, caCertPem: string): RevokedEntry[] {
  let root: forge.asn1.Asn1;
  try {
    const der = forge.pem.decode(crlPem).find((block) => block.type === 'X509 CRL');
    if (!der) throw new CrlError('no X509 CRL block');
    root = asn1.fromDer(der.body);
  } catch (err) {
    throw err instanceof CrlError ? err : new CrlError('malformed CRL: not DER');
  }
  const [tbs, , signatureNode] = children(root, 'CertificateList');
  const caCert = forge.pki.certificateFromPem(caCertPem);
  const md = forge.md.sha256.create();
  md.update(asn1.toDer(tbs as forge.asn1.Asn1).getBytes());
  const signature = bytesOf(signatureNode, 'signature').slice(1);
  let valid = false;
  try {
    valid = (caCert.publicKey as forge.pki.rsa.PublicKey).verify(md.digest().getBytes(), signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new CrlError('CRL signature does not verify against the CA');
  const fields = children(tbs, 'TBSCertList');
  // version, signature, issuer, thisUpdate, [nextUpdate], [revokedCertificates], [extensions]
  const list = fields.slice(4).find((f) => f.tagClass === asn1.Class.UNIVERSAL && f.type === asn1.Type.SEQUENCE);
  if (!list) return [];
  return children(list, 'revokedCertificates').map((entry) => {
    const [serial, date] = children(entry, 'revoked entry');
    return {
      serial: normaliseSerial(forge.util.bytesToHex(bytesOf(serial, 'serial'))),
      revokedAt: dateOf(date, 'revocationDate'),
    };
  });
}
