/**
 * Bundle signatures in OPA's format: `/.signatures.json` holds
 * `{ "signatures": [<compact JWS>] }`, the JWS payload lists every other
 * file of the bundle with its digest: `{ files: [{ name, hash, algorithm }],
 * keyid?, scope? }`. Structured files (data.json, data.yaml, .manifest) are
 * hashed over a canonical JSON encoding (sorted keys, number literals kept),
 * everything else over its bytes, exactly as OPA does, so bundles signed by
 * `opa sign` verify here and ours verify in OPA.
 */
import { createHash, createPrivateKey, createPublicKey, createSecretKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import { parse as parseYaml } from 'yaml';
import { BundleError, SIGNATURES_FILE, normaliseBundlePath } from './bundle.js';

/** Digest algorithms accepted in a signature; MD5 and SHA-1 are refused. */
const HASHES: Readonly<Record<string, string>> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

// ---------------------------------------------------------------- hashing

function isStructured(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base === 'data.json' || base === 'data.yaml' || base === '.manifest' || base === SIGNATURES_FILE;
}

/** Go's encoding/json string form (HTML escaping off): JSON.stringify plus \u2028/\u2029 escapes. */
function goString(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Re-encodes JSON text canonically: objects with keys sorted bytewise, no
 * whitespace, number literals exactly as written (OPA decodes with UseNumber).
 */
export function canonicalJsonText(text: string): string {
  let i = 0;
  const fail = (): never => {
    throw new SignatureError(`invalid JSON at offset ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const str = (): string => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
    if (!m) return fail();
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const value = (depth: number): string => {
    if (depth > 1000) return fail();
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const members: Array<[string, string]> = [];
      ws();
      if (text[i] === '}') i++;
      else {
        for (;;) {
          ws();
          const key = str();
          ws();
          if (text[i++] !== ':') fail();
          members.push([key, value(depth + 1)]);
          ws();
          const sep = text[i++];
          if (sep === '}') break;
          if (sep !== ',') fail();
        }
      }
      members.sort(([a], [b]) => compareUtf8(a, b));
      return `{${members.map(([k, v]) => `${goString(k)}:${v}`).join(',')}}`;
    }
    if (c === '[') {
      i++;
      const items: string[] = [];
      ws();
      if (text[i] === ']') i++;
      else {
        for (;;) {
          items.push(value(depth + 1));
          ws();
          const sep = text[i++];
          if (sep === ']') break;
          if (sep !== ',') fail();
        }
      }
      return `[${items.join(',')}]`;
    }
    if (c === '"') return goString(str());
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) return fail();
    i += m[0].length;
    return m[0];
  };
  const out = value(0);
  ws();
  if (i !== text.length) fail();
  return out;
}

/** The digest OPA computes for a bundle file (hex). */
export function bundleFileDigest(name: string, bytes: Uint8Array, algorithm = 'SHA-256'): string {
  const hash = HASHES[algorithm];
  if (hash === undefined) throw new SignatureError(`unsupported digest algorithm ${algorithm}`);
  let content: Uint8Array | string = bytes;
  if (isStructured(name)) {
    const text = Buffer.from(bytes).toString('utf8');
    content = name.endsWith('.yaml') || name.endsWith('.yml')
      ? canonicalJsonText(JSON.stringify(parseYaml(text)))
      : canonicalJsonText(text);
  }
  return createHash(hash).update(content).digest('hex');
}

// ---------------------------------------------------------------- keys

export interface BundleKey {
  key: KeyObject;
  /** JWS algorithm (RS256, ES256, EdDSA, HS256, ...). */
  alg: string;
}

function defaultAlgorithm(key: KeyObject): string {
  if (key.type === 'secret') return 'HS256';
  switch (key.asymmetricKeyType) {
    case 'rsa': return 'RS256';
    case 'rsa-pss': return 'PS256';
    case 'ed25519': return 'EdDSA';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ES256';
      if (curve === 'secp384r1') return 'ES384';
      if (curve === 'secp521r1') return 'ES512';
      break;
    }
  }
  throw new SignatureError('unsupported key type');
}

function importKey(material: string, use: 'sign' | 'verify'): KeyObject {
  try {
    if (!material.includes('-----BEGIN')) return createSecretKey(Buffer.from(material, 'utf8'));
    if (material.includes('CERTIFICATE-----')) return new X509Certificate(material).publicKey;
    if (material.includes('PRIVATE KEY-----')) {
      const priv = createPrivateKey(material);
      return use === 'sign' ? priv : createPublicKey(priv);
    }
    if (use === 'sign') throw new SignatureError('a public key cannot sign');
    return createPublicKey(material);
  } catch (err) {
    if (err instanceof SignatureError) throw err;
    throw new SignatureError('cannot read key (expected PEM private/public key, certificate, or an HMAC secret)');
  }
}

/** Reads signing material: a PEM private key (or HMAC secret); the algorithm defaults from the key type. */
export function signingKey(material: string, alg?: string): BundleKey {
  const key = importKey(material, 'sign');
  return { key, alg: alg ?? defaultAlgorithm(key) };
}

/** Reads verification material: PEM public key, certificate, private key (its public half) or HMAC secret. */
export function verificationKey(material: string, alg?: string): BundleKey {
  const key = importKey(material, 'verify');
  return { key, alg: alg ?? defaultAlgorithm(key) };
}

// ---------------------------------------------------------------- sign / verify

export interface SignOptions {
  keyid?: string;
  scope?: string;
}

interface SignedFile {
  name: string;
  hash: string;
  algorithm: string;
}

interface SignaturePayload {
  files: SignedFile[];
  keyid?: string;
  scope?: string;
  iat?: number;
}

/** The `.signatures.json` text for these bundle files (any existing signature file is not covered). */
export async function signBundleFiles(files: ReadonlyMap<string, Uint8Array>, key: BundleKey, options: SignOptions = {}): Promise<string> {
  const payload: SignaturePayload = {
    files: [...files]
      .filter(([name]) => normaliseBundlePath(name) !== SIGNATURES_FILE)
      .map(([name, bytes]) => ({ name: normaliseBundlePath(name), hash: bundleFileDigest(name, bytes), algorithm: 'SHA-256' }))
      .sort((a, b) => compareUtf8(a.name, b.name)),
    iat: Math.floor(Date.now() / 1000),
  };
  if (options.keyid !== undefined) payload.keyid = options.keyid;
  if (options.scope !== undefined) payload.scope = options.scope;
  const header: { alg: string; kid?: string } = { alg: key.alg };
  if (options.keyid !== undefined) header.kid = options.keyid;
  const jws = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader(header).sign(key.key);
  return `${JSON.stringify({ signatures: [jws] }, null, 2)}\n`;
}

export interface VerificationConfig {
  /** Trusted keys by key id. */
  keys: Record<string, BundleKey & { scope?: string }>;
  /** Which key to use; when absent, the signature's `keyid` selects one. */
  keyid?: string;
  /** Required scope; defaults to the key's scope. Must equal the signature's. */
  scope?: string;
}

/** UTF-8 JSON, or a SignatureError saying which part was not JSON. */
function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new SignatureError(`${what} is not valid JSON`);
  }
}

function parseSignatures(bytes: Uint8Array): string {
  const doc = parseJson(bytes, '.signatures.json');
  const signatures = (doc as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(signatures) || signatures.length !== 1 || typeof signatures[0] !== 'string') {
    throw new SignatureError('.signatures.json must hold exactly one signature');
  }
  return signatures[0];
}

function parsePayload(bytes: Uint8Array): SignaturePayload {
  const payload = parseJson(bytes, 'signature payload');
  const files = (payload as { files?: unknown } | null)?.files;
  const ok = Array.isArray(files) && files.every((f: unknown) => {
    const file = f as Partial<SignedFile> | null;
    return typeof file?.name === 'string' && typeof file.hash === 'string' && typeof file.algorithm === 'string';
  });
  if (!ok) throw new SignatureError('signature payload has no valid file list');
  return payload as SignaturePayload;
}

/**
 * Verifies a bundle's signature: a trusted key signed it, the scope matches,
 * and every file (except the signature file) is listed with a matching digest
 * and every listed file is present. Throws SignatureError otherwise.
 */
export async function verifyBundleFiles(files: ReadonlyMap<string, Uint8Array>, config: VerificationConfig): Promise<void> {
  const signatures = files.get(SIGNATURES_FILE);
  if (signatures === undefined) throw new SignatureError('bundle is not signed (no .signatures.json)');
  const token = parseSignatures(signatures);

  let unverified: SignaturePayload;
  try {
    decodeProtectedHeader(token);
    const encodedPayload = token.split('.')[1] ?? '';
    unverified = parsePayload(Buffer.from(encodedPayload, 'base64url'));
  } catch (err) {
    throw err instanceof SignatureError ? err : new SignatureError('signature is not a compact JWS');
  }
  const keyid = config.keyid ?? unverified.keyid;
  if (keyid === undefined) throw new SignatureError('no key id configured and none in the signature');
  const key = Object.hasOwn(config.keys, keyid) ? config.keys[keyid] : undefined;
  if (key === undefined) throw new SignatureError(`signature key "${keyid}" is not trusted`);

  let payload: SignaturePayload;
  try {
    const verified = await compactVerify(token, key.key, { algorithms: [key.alg] });
    payload = parsePayload(verified.payload);
  } catch (err) {
    throw err instanceof SignatureError ? err : new SignatureError('bundle signature is invalid');
  }
  const scope = config.scope ?? key.scope;
  if ((payload.scope ?? '') !== (scope ?? '')) throw new SignatureError('signature scope mismatch');

  const listed = new Map<string, SignedFile>();
  for (const file of payload.files) listed.set(normaliseBundlePath(file.name), file);
  for (const [rawName, bytes] of files) {
    const name = normaliseBundlePath(rawName);
    if (name === SIGNATURES_FILE) continue;
    const signed = listed.get(name);
    if (signed === undefined) throw new SignatureError(`${name} is not covered by the bundle signature`);
    let digest: string;
    try {
      digest = bundleFileDigest(name, bytes, signed.algorithm);
    } catch (err) {
      if (err instanceof SignatureError || err instanceof BundleError) throw new SignatureError(`${name}: ${err.message}`);
      throw new SignatureError(`${name}: cannot be hashed`);
    }
    if (digest !== signed.hash.toLowerCase()) throw new SignatureError(`${name}: digest mismatch (file altered)`);
    listed.delete(name);
  }
  if (listed.size > 0) throw new SignatureError(`signed file(s) missing from the bundle: ${[...listed.keys()].join(', ')}`);
}
