/**
 * Bearer JWT identity (jose): tokens signed by the gateway's own key
 * (`portcullis token issue`), or by any issuer whose JWKS the config names.
 * Whether the identity or token is revoked is the edge's check (revocation.ts).
 */
import { createPublicKey, createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, SignJWT } from 'jose';
import type { JWTPayload, JWTVerifyGetKey, KeyObject } from 'jose';
import type { JwtConfig, AgentConfig } from './config.js';
import { GatewayError } from '../errors.js';
import { spiffeId } from '../pki/certs.js';
import { MAX_IDENTIFIER } from '../pki/identity-list.js';
import { agentNameFromSpiffe, rolesFor, withTokenId } from './agent.js';
import type { AgentIdentity } from './agent.js';

/** Asymmetric signatures only: a shared secret would let whoever verifies also sign. */
export const ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'PS256'];

type VerificationKey = KeyObject | JWTVerifyGetKey;

/** The key (or key set) tokens are verified with. `jwks`: file path or https URL. */
export function verificationKey(config: JwtConfig, resolvePath: (p: string) => string, serverCertPem: string): VerificationKey {
  if (config.jwks === undefined) return createPublicKey(serverCertPem);
  if (/^https:\/\//.test(config.jwks)) return createRemoteJWKSet(new URL(config.jwks));
  return createLocalJWKSet(JSON.parse(readFileSync(resolvePath(config.jwks), 'utf8')));
}

/** Why jose refused a token, for the 401 answer: claim names, never claim values. */
const JOSE_REASONS: Record<string, string> = {
  ERR_JWS_INVALID: 'malformed token',
  ERR_JWT_INVALID: 'malformed token',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature does not verify',
  ERR_JOSE_ALG_NOT_ALLOWED: 'signing algorithm not accepted',
  ERR_JOSE_NOT_SUPPORTED: 'signing algorithm not accepted',
  ERR_JWKS_NO_MATCHING_KEY: 'no key of the issuer matches the token',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'no single key of the issuer matches the token',
  ERR_JWKS_INVALID: 'issuer key set unusable',
  ERR_JWKS_TIMEOUT: 'issuer key set unavailable',
};

const CLAIM_PROBLEMS: Record<string, string> = { missing: 'missing', invalid: 'has the wrong type', check_failed: 'not accepted' };

export function refusalOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return err.claim === 'exp' ? 'token expired' : 'token older than jwt.max_ttl_s';
  if (err instanceof errors.JWTClaimValidationFailed) return `"${err.claim}" claim ${CLAIM_PROBLEMS[err.reason] ?? 'not accepted'}`;
  const code = err instanceof errors.JOSEError ? err.code : '';
  return JOSE_REASONS[code] ?? 'invalid token';
}

/** Claims that name things (`sub`, `jti`: ids in logs, audit, revocation lists): 1 to MAX_IDENTIFIER printable characters. */
export function identifierClaim(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_IDENTIFIER || !/^[^\p{C}]+$/u.test(value)) {
    throw new GatewayError('unauthenticated', `"${claim}" claim must be 1 to ${MAX_IDENTIFIER} printable characters`);
  }
  return value;
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization ?? '')?.[1];
}

/** A token's `iss` before verification: only to choose which issuer's keys verify it. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

export class JwtAuthenticator {
  constructor(
    private readonly config: JwtConfig,
    private readonly key: VerificationKey,
    private readonly trustDomain: string,
    private readonly agents: Readonly<Record<string, AgentConfig>>,
  ) {}

  /** Whether tokens naming this issuer are this authenticator's to check (a listener may also take OAuth tokens). */
  issues(issuer: string): boolean {
    return issuer === this.config.issuer;
  }

  /** The identity a bearer token proves; every refusal is an `unauthenticated` GatewayError with its reason. */
  async identify(authorization: string | undefined): Promise<AgentIdentity> {
    const token = bearerToken(authorization);
    if (token === undefined) throw new GatewayError('unauthenticated', 'bearer token required');
    let payload: JWTPayload;
    try {
      const options = {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: ALGORITHMS,
        maxTokenAge: this.config.max_ttl_s,
        requiredClaims: ['exp', 'iat', 'sub'],
      };
      // jose overloads jwtVerify on the key kind; both branches verify the same way.
      ({ payload } =
        typeof this.key === 'function' ? await jwtVerify(token, this.key, options) : await jwtVerify(token, this.key, options));
    } catch (err) {
      throw new GatewayError('unauthenticated', refusalOf(err));
    }
    const sub = identifierClaim(payload, 'sub');
    if (sub === undefined) throw new GatewayError('unauthenticated', '"sub" claim missing');
    const jti = identifierClaim(payload, 'jti');
    const name = agentNameFromSpiffe(sub, this.trustDomain);
    return withTokenId({ id: sub, name: name ?? sub, auth: 'jwt', roles: name === undefined ? [] : rolesFor(this.agents, name) }, jti);
  }
}

/** A token for an agent, signed with the gateway's server key (RS256); its `jti` is random (`portcullis token revoke <jti>`). */
export async function issueToken(
  serverKeyPem: string,
  config: JwtConfig,
  trustDomain: string,
  agent: string,
  ttlSeconds: number,
  jti: string = randomUUID(),
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setJti(jti)
    .setSubject(spiffeId(trustDomain, agent))
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(createPrivateKey(serverKeyPem));
}
