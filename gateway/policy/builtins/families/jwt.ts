/** io.jwt.* built-ins (JWS compact serialisation) on node:crypto, synchronously. */
import {
  type KeyObject, constants, createHmac, createPrivateKey, createPublicKey, createSecretKey, sign, timingSafeEqual, verify,
  type JsonWebKey,
} from 'node:crypto';
import { parseJson, serialiseJson } from '../codec.js';
import { BuiltinError, num, obj, str, type BuiltinImpl, type BuiltinTable } from '../operands.js';
import { RegoObject, isNumber, type Value } from '../value.js';

interface Algorithm { kind: 'hmac' | 'rsa' | 'pss' | 'ecdsa' | 'eddsa'; hash: string | null }

const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  HS256: { kind: 'hmac', hash: 'sha256' }, HS384: { kind: 'hmac', hash: 'sha384' }, HS512: { kind: 'hmac', hash: 'sha512' },
  RS256: { kind: 'rsa', hash: 'sha256' }, RS384: { kind: 'rsa', hash: 'sha384' }, RS512: { kind: 'rsa', hash: 'sha512' },
  PS256: { kind: 'pss', hash: 'sha256' }, PS384: { kind: 'pss', hash: 'sha384' }, PS512: { kind: 'pss', hash: 'sha512' },
  ES256: { kind: 'ecdsa', hash: 'sha256' }, ES384: { kind: 'ecdsa', hash: 'sha384' }, ES512: { kind: 'ecdsa', hash: 'sha512' },
  EdDSA: { kind: 'eddsa', hash: null },
};

function algorithm(name: Value | undefined): Algorithm {
  const alg = typeof name === 'string' ? ALGORITHMS[name] : undefined;
  if (!alg) throw new BuiltinError(`unsupported JWS algorithm ${String(name)}`);
  return alg;
}

function b64url(part: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(part) || part.length % 4 === 1) throw new BuiltinError(`JWT ${what} had invalid encoding`);
  return Buffer.from(part, 'base64url');
}

interface Token { header: RegoObject; payload: RegoObject; signature: Buffer; signingInput: string; alg: string }

function splitToken(jwt: string): Token {
  const parts = jwt.split('.');
  if (parts.length === 1) throw new BuiltinError('encoded JWT had no period separators');
  if (parts.length !== 3) throw new BuiltinError(`encoded JWT must have 3 sections, found ${parts.length}`);
  const [h = '', p = '', s = ''] = parts;
  const header = obj(parseJson(b64url(h, 'header').toString('utf8')));
  if (header.has('enc')) throw new BuiltinError('JWT is a JWE object, which is not supported');
  const payloadText = b64url(p, 'payload').toString('utf8');
  const signature = b64url(s, 'signature');
  const cty = header.get('cty');
  if (typeof cty === 'string' && cty.toUpperCase() === 'JWT') {
    // A nested token: the payload is the inner token (possibly as a JSON string).
    const inner = payloadText.startsWith('"') ? str(parseJson(payloadText)) : payloadText;
    return splitToken(inner);
  }
  return { header, payload: obj(parseJson(payloadText)), signature, signingInput: `${h}.${p}`, alg: String(header.get('alg')) };
}

// ---- keys ----

function isPem(s: string): boolean {
  return s.includes('-----BEGIN');
}

/** Public keys from a PEM certificate / public key, a JWK or a JWK set. */
function publicKeys(material: string): KeyObject[] {
  if (isPem(material)) {
    if (!/-----END [A-Z ]+-----\s*$/.test(material)) throw new BuiltinError('extra data after a PEM block');
    return [createPublicKey(material)];
  }
  const parsed = JSON.parse(material) as { keys?: unknown[] };
  const jwks = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
  const out: KeyObject[] = [];
  for (const jwk of jwks) {
    try {
      out.push(createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
    } catch {
      // Keys of unsupported types in a set are skipped, as OPA does.
    }
  }
  if (out.length === 0) throw new BuiltinError('no usable key');
  return out;
}

/** Critical header extensions: none are understood, so a token that has any does not verify. */
function hasCriticalExtensions(token: Token): boolean {
  return token.header.has('crit');
}

function verifySignature(alg: Algorithm, data: string, sig: Buffer, key: KeyObject | Buffer): boolean {
  if (alg.kind === 'hmac') {
    const mac = createHmac(alg.hash as string, key).update(data).digest();
    return mac.length === sig.length && timingSafeEqual(mac, sig);
  }
  const k = key as KeyObject;
  try {
    switch (alg.kind) {
      case 'rsa': return k.asymmetricKeyType === 'rsa' && verify(alg.hash, Buffer.from(data), k, sig);
      case 'pss': return k.asymmetricKeyType === 'rsa' && verify(alg.hash, Buffer.from(data),
        { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, sig);
      case 'ecdsa': return k.asymmetricKeyType === 'ec' && verify(alg.hash, Buffer.from(data), { key: k, dsaEncoding: 'ieee-p1363' }, sig);
      case 'eddsa': return k.asymmetricKeyType === 'ed25519' && verify(null, Buffer.from(data), k, sig);
    }
  } catch {
    return false;
  }
  return false;
}

/** io.jwt.verify_<alg>(jwt, key): key is a PEM / JWK / JWKS, or the secret for HS*. */
function verifier(name: string): BuiltinImpl {
  return (jwt, keyText) => {
    const token = splitToken(str(jwt));
    const alg = algorithm(name);
    if (token.alg !== name || hasCriticalExtensions(token)) return false;
    const material = str(keyText);
    if (alg.kind === 'hmac') return verifySignature(alg, token.signingInput, token.signature, Buffer.from(material, 'utf8'));
    return publicKeys(material).some((k) => verifySignature(alg, token.signingInput, token.signature, k));
  };
}

// ---- decode_verify ----

const CONSTRAINTS = new Set(['cert', 'secret', 'alg', 'iss', 'aud', 'time']);

function claimTime(payload: RegoObject, claim: string): number | undefined {
  const v = payload.get(claim);
  if (v === undefined) return undefined;
  if (!isNumber(v)) throw new BuiltinError(`${claim} value must be a number`);
  return Number(v);
}

function decodeVerify(jwt: string, constraints: RegoObject): Value {
  for (const k of constraints.keys()) {
    if (typeof k !== 'string' || !CONSTRAINTS.has(k)) throw new BuiltinError(`unknown token validation constraint: ${String(k)}`);
  }
  const cert = constraints.get('cert');
  const secret = constraints.get('secret');
  if ((cert === undefined) === (secret === undefined)) throw new BuiltinError('exactly one of cert or secret must be given');
  const token = splitToken(jwt);
  const invalid = [false, new RegoObject(), new RegoObject()];
  const wantAlg = constraints.get('alg');
  if (wantAlg !== undefined && str(wantAlg) !== token.alg) return invalid;
  const alg = ALGORITHMS[token.alg];
  if (!alg || hasCriticalExtensions(token)) return invalid;
  const ok = secret !== undefined
    ? alg.kind === 'hmac' && verifySignature(alg, token.signingInput, token.signature, Buffer.from(str(secret), 'utf8'))
    : alg.kind !== 'hmac' && publicKeys(str(cert)).some((k) => verifySignature(alg, token.signingInput, token.signature, k));
  if (!ok) return invalid;
  const { payload } = token;
  const nowNs = constraints.has('time') ? Number(num(constraints.get('time'))) : Date.now() * 1e6;
  const exp = claimTime(payload, 'exp');
  if (exp !== undefined && nowNs >= exp * 1e9) return invalid;
  const nbf = claimTime(payload, 'nbf');
  if (nbf !== undefined && nowNs < nbf * 1e9) return invalid;
  const iss = constraints.get('iss');
  if (iss !== undefined && payload.get('iss') !== str(iss)) return invalid;
  const aud = constraints.get('aud');
  const tokenAud = payload.get('aud');
  if (aud === undefined) {
    if (tokenAud !== undefined) return invalid;
  } else {
    const want = str(aud);
    const auds = Array.isArray(tokenAud) ? tokenAud : tokenAud === undefined ? [] : [tokenAud];
    if (!auds.includes(want)) return invalid;
  }
  return [true, token.header, payload];
}

// ---- signing ----

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** A signing key from a JWK (object text). */
function signingKey(jwkText: string, alg: Algorithm): KeyObject | Buffer {
  const jwk = JSON.parse(jwkText) as { kty?: string; k?: string };
  if (alg.kind === 'hmac') {
    if (jwk.kty !== 'oct' || typeof jwk.k !== 'string') throw new BuiltinError('HMAC signing needs an oct JWK');
    return createSecretKey(Buffer.from(jwk.k, 'base64url')).export();
  }
  return createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
}

function signToken(headerText: string, payloadText: string, keyText: string): string {
  const header = obj(parseJson(headerText));
  const alg = algorithm(header.get('alg'));
  // The payload must be JSON unless the header declares plain text.
  if (header.get('typ') !== 'text/plain') parseJson(payloadText);
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  const key = signingKey(keyText, alg);
  let sig: Buffer;
  if (alg.kind === 'hmac') sig = createHmac(alg.hash as string, key as Buffer).update(input).digest();
  else {
    const k = key as KeyObject;
    const data = Buffer.from(input);
    switch (alg.kind) {
      case 'pss':
        sig = sign(alg.hash, data, { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
        break;
      case 'ecdsa': sig = sign(alg.hash, data, { key: k, dsaEncoding: 'ieee-p1363' }); break;
      default: sig = sign(alg.hash, data, k);
    }
  }
  return `${input}.${b64(sig)}`;
}

export const jwtBuiltins: BuiltinTable = {
  'io.jwt.decode': (jwt) => {
    const t = splitToken(str(jwt));
    return [t.header, t.payload, t.signature.toString('hex')];
  },
  'io.jwt.decode_verify': (jwt, c) => decodeVerify(str(jwt), obj(c)),
  ...Object.fromEntries(Object.keys(ALGORITHMS).map((a) => [`io.jwt.verify_${a.toLowerCase()}`, verifier(a)])),
  'io.jwt.encode_sign': (h, p, k) => signToken(serialiseJson(obj(h)), serialiseJson(obj(p)), serialiseJson(obj(k))),
  'io.jwt.encode_sign_raw': (h, p, k) => signToken(str(h), str(p), str(k)),
};

