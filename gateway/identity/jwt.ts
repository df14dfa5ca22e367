/**
 * Bearer JWT identity (jose): tokens signed by the gateway's own key
 * (`portcullis token issue`), or by any issuer whose JWKS the config names.
 */
import { createPublicKey, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import type { JWTVerifyGetKey, KeyObject } from 'jose';
import type { JwtConfig, AgentConfig } from '../config/spine-schema.js';
import { GatewayError } from '../errors.js';
import { spiffeId } from '../pki/certs.js';
import { agentNameFromSpiffe, rolesFor } from './agent.js';
import type { AgentIdentity } from './agent.js';

const ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'PS256'];

type VerificationKey = KeyObject | JWTVerifyGetKey;

/** The key (or key set) tokens are verified with. `jwks`: file path or https URL. */
export function verificationKey(config: JwtConfig, resolvePath: (p: string) => string, serverCertPem: string): VerificationKey {
  if (config.jwks === undefined) return createPublicKey(serverCertPem);
  if (/^https:\/\//.test(config.jwks)) return createRemoteJWKSet(new URL(config.jwks));
  return createLocalJWKSet(JSON.parse(readFileSync(resolvePath(config.jwks), 'utf8')));
}

export class JwtAuthenticator {
  constructor(
    private readonly config: JwtConfig,
    private readonly key: VerificationKey,
    private readonly trustDomain: string,
    private readonly agents: Readonly<Record<string, AgentConfig>>,
  ) {}

  async identify(authorization: string | undefined): Promise<AgentIdentity> {
    const token = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization ?? '')?.[1];
    if (token === undefined) throw new GatewayError('unauthenticated', 'bearer token required');
    let sub: string | undefined;
    try {
      const options = {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: ALGORITHMS,
        maxTokenAge: this.config.max_ttl_s,
        requiredClaims: ['exp', 'iat', 'sub'],
      };
      // jose overloads jwtVerify on the key kind; both branches verify the same way.
      const { payload } =
        typeof this.key === 'function' ? await jwtVerify(token, this.key, options) : await jwtVerify(token, this.key, options);
      sub = payload.sub;
    } catch {
      throw new GatewayError('unauthenticated', 'invalid token');
    }
    if (sub === undefined || sub === '') throw new GatewayError('unauthenticated', 'token has no subject');
    const name = agentNameFromSpiffe(sub, this.trustDomain);
    return { id: sub, name: name ?? sub, auth: 'jwt', roles: name === undefined ? [] : rolesFor(this.agents, name) };
  }
}

/** A token for an agent, signed with the gateway's server key (RS256). */
export async function issueToken(
  serverKeyPem: string,
  config: JwtConfig,
  trustDomain: string,
  agent: string,
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setSubject(spiffeId(trustDomain, agent))
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(createPrivateKey(serverKeyPem));
}
