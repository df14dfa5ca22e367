/**
 * Signed checkpoints: a compact JWS (jose) with the gateway's key over the
 * sequence number and hash of the record just before the checkpoint. The
 * header's `kid` is the RFC 7638 thumbprint of the public key.
 */
import { X509Certificate, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { CompactSign, calculateJwkThumbprint, compactVerify, exportJWK } from 'jose';

export const CHECKPOINT_TYP = 'portcullis-audit-checkpoint+jws';

export interface CheckpointPayload {
  seq: number;
  hash: string;
}

/** The JWS algorithm that goes with a key, from its type and curve. */
export function algorithmFor(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'rsa' || type === 'rsa-pss') return 'PS256';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
  }
  throw new Error(`audit checkpoints: unsupported key type ${type ?? 'unknown'}`);
}

export async function keyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(publicKey));
}

export interface CheckpointSigner {
  sign(payload: CheckpointPayload): Promise<string>;
}

export async function createCheckpointSigner(privateKey: KeyObject): Promise<CheckpointSigner> {
  if (privateKey.type !== 'private') throw new Error('audit checkpoints need the private key');
  const alg = algorithmFor(privateKey);
  const kid = await keyId(createPublicKey(privateKey));
  const encoder = new TextEncoder();
  return {
    sign: (payload) =>
      new CompactSign(encoder.encode(JSON.stringify({ seq: payload.seq, hash: payload.hash })))
        .setProtectedHeader({ alg, kid, typ: CHECKPOINT_TYP })
        .sign(privateKey),
  };
}

/** Why a checkpoint does not verify, or undefined when it does and covers `expected`. */
export async function checkpointProblem(
  jws: string,
  publicKey: KeyObject,
  expected: CheckpointPayload,
): Promise<string | undefined> {
  let verified;
  try {
    verified = await compactVerify(jws, publicKey, { algorithms: [algorithmFor(publicKey)] });
  } catch {
    return 'signature does not verify with the given key';
  }
  if (verified.protectedHeader.kid !== (await keyId(publicKey))) return 'signed under another key id';
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return 'signed payload is not JSON';
  }
  const p = payload as Partial<CheckpointPayload> | null;
  if (p?.seq !== expected.seq || p.hash !== expected.hash) return 'signed payload does not match the chain';
  return undefined;
}

/** The verification key from a PEM certificate, PEM public (or private) key, or a JWK. */
export function parseVerificationKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return createPublicKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' });
  if (trimmed.includes('-----BEGIN CERTIFICATE-----')) return new X509Certificate(trimmed).publicKey;
  return createPublicKey(trimmed);
}
