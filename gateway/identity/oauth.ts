/**
 * MCP authorization: the gateway as an OAuth 2.1 protected resource. It
 * publishes where its tokens come from (RFC 9728 metadata, named in every
 * 401 challenge), accepts JWT access tokens of the configured authorization
 * servers verified with jose against their key sets (discovered from their
 * RFC 8414 / OpenID metadata, or configured), bound to this gateway's resource
 * URL (RFC 8707 `aud`), and maps each to an agent (`oauth.identity`).
 * Whether the identity or token is revoked is the edge's check (revocation.ts).
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { GatewayError } from '../errors.js';
import { spiffeId } from '../pki/certs.js';
import { rolesFor, withTokenId } from './agent.js';
import type { AgentIdentity } from './agent.js';
import type { AgentConfig, OAuthConfig } from './config.js';
import { ALGORITHMS, bearerToken, identifierClaim, refusalOf, unverifiedIssuer } from './jwt.js';

/** RFC 9728: the metadata document's well-known path (the resource's path is appended to it). */
export const PROTECTED_RESOURCE_METADATA = '/.well-known/oauth-protected-resource';

/** How long one authorization server metadata request may take. */
const DISCOVERY_TIMEOUT_MS = 5000;

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: ['header'];
  scopes_supported?: string[];
}

/** A `WWW-Authenticate: Bearer` value (RFC 6750 section 3); quotes and backslashes in values become apostrophes. */
export function bearerChallenge(parameters: Readonly<Record<string, string>>): string {
  return `Bearer ${Object.entries(parameters)
    .map(([name, value]) => `${name}="${value.replace(/["\\]/g, "'")}"`)
    .join(', ')}`;
}

/** The metadata locations of an issuer: RFC 8414 (path inserted after the well-known prefix), then OpenID Connect Discovery. */
function metadataLocations(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname;
  return [new URL(`/.well-known/oauth-authorization-server${path}`, url), new URL(`${path}/.well-known/openid-configuration`, url)];
}

/** The `jwks_uri` an authorization server publishes; its metadata must name the same issuer (RFC 8414 section 3.3). */
async function discoverJwksUri(issuer: string): Promise<URL> {
  for (const location of metadataLocations(issuer)) {
    const answer = await fetch(location, { redirect: 'error', signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (!answer.ok) continue;
    const metadata = (await answer.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (metadata.issuer !== issuer) throw new Error('metadata names another issuer');
    if (typeof metadata.jwks_uri !== 'string') throw new Error('metadata has no jwks_uri');
    return new URL(metadata.jwks_uri);
  }
  throw new Error('no authorization server metadata');
}

/** The scopes a token was granted: `scope` (RFC 9068, space-separated) or `scp` (a list, as some servers send). */
function grantedScopes(payload: JWTPayload): string[] {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter((scope) => scope !== '');
  return Array.isArray(payload.scp) ? payload.scp.filter((scope): scope is string => typeof scope === 'string') : [];
}

export class OAuthAuthenticator {
  private resourceUrl: string | undefined;
  /** One key set per issuer, fetched on first use; a failed discovery is forgotten, so the next token retries it. */
  private readonly keySets = new Map<string, Promise<JWTVerifyGetKey>>();
  private readonly configuredKeys: JWTVerifyGetKey | undefined;

  constructor(
    private readonly config: OAuthConfig,
    private readonly trustDomain: string,
    private readonly agents: Readonly<Record<string, AgentConfig>>,
  ) {
    this.resourceUrl = config.resource;
    this.configuredKeys = config.jwks_uri === undefined ? undefined : createRemoteJWKSet(new URL(config.jwks_uri));
  }

  /** Once the listener is bound: without a configured `resource`, the resource is the gateway's own /mcp URL. */
  listening(gatewayUrl: string): void {
    this.resourceUrl ??= `${gatewayUrl}/mcp`;
  }

  private get resource(): string {
    if (this.resourceUrl === undefined) throw new GatewayError('unauthenticated', 'not listening yet');
    return this.resourceUrl;
  }

  /** The RFC 9728 document, the same at the root and at the resource's path-suffixed location. */
  metadata(): ProtectedResourceMetadata {
    return {
      resource: this.resource,
      authorization_servers: [...this.config.authorization_servers],
      bearer_methods_supported: ['header'],
      ...(this.config.scopes_supported.length === 0 ? {} : { scopes_supported: [...this.config.scopes_supported] }),
    };
  }

  /** Whether a metadata request path (after the well-known prefix) is one this gateway answers: none, the resource's path, or below it. */
  servesMetadataAt(suffix: string): boolean {
    const path = new URL(this.resource).pathname.replace(/\/$/, '');
    return suffix === '' || suffix === '/' || suffix === path || suffix.startsWith(`${path}/`);
  }

  /** The metadata URL derived from the resource (RFC 9728 section 3.1), as clients would derive it. */
  metadataUrl(): string {
    const resource = new URL(this.resource);
    const path = resource.pathname === '/' ? '' : resource.pathname;
    return `${resource.origin}${PROTECTED_RESOURCE_METADATA}${path}`;
  }

  /** The `WWW-Authenticate` value of a 401: where the metadata is, what to ask for, and why a presented token failed. */
  challenge(invalidToken?: string): string {
    return bearerChallenge({
      resource_metadata: this.metadataUrl(),
      ...(this.config.scopes_supported.length === 0 ? {} : { scope: this.config.scopes_supported.join(' ') }),
      ...(invalidToken === undefined ? {} : { error: 'invalid_token', error_description: invalidToken }),
    });
  }

  /** Whether tokens naming this issuer are this authenticator's to check. */
  issues(issuer: string): boolean {
    return this.config.authorization_servers.includes(issuer);
  }

  private keysOf(issuer: string): Promise<JWTVerifyGetKey> {
    if (this.configuredKeys !== undefined) return Promise.resolve(this.configuredKeys);
    let keys = this.keySets.get(issuer);
    if (keys === undefined) {
      keys = discoverJwksUri(issuer).then((uri) => createRemoteJWKSet(uri));
      keys.catch(() => this.keySets.delete(issuer));
      this.keySets.set(issuer, keys);
    }
    return keys;
  }

  /** The identity an access token proves; every refusal is an `unauthenticated` GatewayError with its reason. */
  async identify(authorization: string | undefined): Promise<AgentIdentity> {
    const token = bearerToken(authorization);
    if (token === undefined) throw new GatewayError('unauthenticated', 'bearer token required');
    // The unverified `iss` only picks whose keys to try; jwtVerify then requires that same issuer.
    const issuer = unverifiedIssuer(token);
    if (issuer === undefined || !this.issues(issuer)) throw new GatewayError('unauthenticated', '"iss" claim not accepted');
    let keys: JWTVerifyGetKey;
    try {
      keys = await this.keysOf(issuer);
    } catch {
      throw new GatewayError('unauthenticated', 'authorization server metadata unavailable');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer, audience: this.config.audience ?? this.resource, algorithms: ALGORITHMS, requiredClaims: ['exp'] }));
    } catch (err) {
      throw new GatewayError('unauthenticated', refusalOf(err));
    }
    return this.identityOf(payload);
  }

  /** The agent a verified token names: its claim's value, else its scopes; a token naming none is an anonymous identity the policy knows nothing about. */
  private identityOf(payload: JWTPayload): AgentIdentity {
    const { claim, agents, scopes } = this.config.identity;
    const value = identifierClaim(payload, claim);
    if (value === undefined) throw new GatewayError('unauthenticated', `"${claim}" claim missing`);
    const jti = identifierClaim(payload, 'jti');
    let name = Object.hasOwn(agents, value) ? agents[value] : undefined;
    if (name === undefined) {
      const named = new Set(grantedScopes(payload).flatMap((scope) => (Object.hasOwn(scopes, scope) ? [scopes[scope] as string] : [])));
      if (named.size > 1) throw new GatewayError('unauthenticated', 'token scopes name more than one agent');
      [name] = named;
    }
    if (name === undefined) {
      // Not an agent name (it has a ':'), so no grant or role can apply to it by accident.
      const anonymous = `oauth:${String(payload.iss)}#${value}`;
      return withTokenId({ id: anonymous, name: anonymous, auth: 'oauth', roles: [] }, jti);
    }
    // The agent's SPIFFE id: revoking the agent (`certs revoke`, `token revoke <agent>`) revokes its OAuth tokens too.
    return withTokenId({ id: spiffeId(this.trustDomain, name), name, auth: 'oauth', roles: rolesFor(this.agents, name) }, jti);
  }
}
