/**
 * The identity revocation list: agent identities (SPIFFE id, or whatever id
 * the agent is known by) and token ids (`jti`) the gateway refuses, kept
 * beside the CRL. A JSON document signed with the gateway's server key (the
 * key that signs its own tokens, which the gateway also has when the CA is
 * someone else's) and verified against the server certificate: a list edited
 * without that key does not verify, and then nobody is let in (fail closed).
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isPlainObject } from '../policy/engine/strict-json.js';

export interface RevokedIdentity {
  id: string;
  revoked_at: string;
}

export interface RevokedToken {
  jti: string;
  revoked_at: string;
}

export interface IdentityList {
  identities: RevokedIdentity[];
  tokens: RevokedToken[];
}

/** Names the document's format; a list of another format is refused rather than guessed at. */
const FORMAT = 'portcullis-identity-revocations/1';

/** Longest id or jti kept: the same bound the JWT authenticator puts on `sub` and `jti`. */
export const MAX_IDENTIFIER = 1024;

export class IdentityListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityListError';
  }
}

/** Ed25519/Ed448 keys sign the message itself; RSA and EC keys its SHA-256 digest. */
function digestFor(key: KeyObject): string | null {
  return key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
}

/** The signed document; the signature covers the compact JSON of `revoked`. */
export function buildIdentityList(list: IdentityList, signerKeyPem: string): string {
  const revoked = {
    format: FORMAT,
    identities: list.identities.map(({ id, revoked_at }) => ({ id, revoked_at })),
    tokens: list.tokens.map(({ jti, revoked_at }) => ({ jti, revoked_at })),
  };
  const key = createPrivateKey(signerKeyPem);
  const signature = sign(digestFor(key), Buffer.from(JSON.stringify(revoked)), key).toString('base64');
  return `${JSON.stringify({ revoked, signature }, null, 2)}\n`;
}

function entries<K extends 'id' | 'jti'>(value: unknown, field: K): Array<Record<K, string> & { revoked_at: string }> {
  if (!Array.isArray(value)) throw new IdentityListError(`malformed list: ${field === 'id' ? 'identities' : 'tokens'} is not an array`);
  return value.map((entry: unknown) => {
    const name = isPlainObject(entry) ? entry[field] : undefined;
    const at = isPlainObject(entry) ? entry.revoked_at : undefined;
    if (typeof name !== 'string' || name === '' || name.length > MAX_IDENTIFIER || typeof at !== 'string') {
      throw new IdentityListError(`malformed list: an entry without a valid "${field}" and "revoked_at"`);
    }
    return { [field]: name, revoked_at: at } as Record<K, string> & { revoked_at: string };
  });
}

/** The entries of a list signed by the key of `signerCertPem`; throws IdentityListError when it is not. */
export function parseIdentityList(text: string, signerCertPem: string): IdentityList {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new IdentityListError('malformed list: not JSON');
  }
  if (!isPlainObject(document) || !isPlainObject(document.revoked) || typeof document.signature !== 'string') {
    throw new IdentityListError('malformed list: not a signed identity revocation list');
  }
  const key = createPublicKey(signerCertPem);
  let valid = false;
  try {
    valid = verify(digestFor(key), Buffer.from(JSON.stringify(document.revoked)), key, Buffer.from(document.signature, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) throw new IdentityListError('list signature does not verify against the gateway certificate');
  if (document.revoked.format !== FORMAT) throw new IdentityListError(`unknown list format (expected ${FORMAT})`);
  return { identities: entries(document.revoked.identities, 'id'), tokens: entries(document.revoked.tokens, 'jti') };
}
