/**
 * MCP authorization end to end, against a real authorization server
 * (oidc-provider on loopback) and the real gateway: the RFC 9728 metadata
 * and the 401 challenge that names it; the MCP SDK client's own OAuth flow
 * (discovery from the 401, dynamic client registration, authorization code
 * with PKCE, resource indicator) completed without a person; the token mapped
 * to the configured agent; tokens for another audience, of another signer,
 * or of no known agent refused or denied; the agent's token never sent
 * upstream; and `mcp-remote`, unchanged, as the bridge of a stdio client.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { ERRORS } from '../gateway/errors.js';
import { revokeIdentities } from '../gateway/pki/store.js';
import { authorizeAsBrowser, MCP_SCOPE, startAuthorizationServer } from './fixtures/authorization-server.js';
import { policyWithGrants, ROOT, startTestGateway, tlsFetch } from './fixtures/gateway-harness.js';
import { startHelloUpstream } from './fixtures/http-upstream.js';
import type { TestGateway } from './fixtures/gateway-harness.js';

/** The authorization server's account that `oauth.identity.agents` maps to the agent demo. */
const DEMO_ACCOUNT = 'alice@example.test';

/** An OAuthClientProvider kept in memory: what a desktop client would keep on disk. */
class MemoryOAuthClient implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  private client: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';

  constructor(
    /** Overrides the resource the SDK would ask for (to obtain a token for another audience). */
    readonly validateResourceURL?: () => Promise<URL | undefined>,
  ) {}

  get redirectUrl(): string {
    // Never requested: the test takes the code from the authorization server's redirect itself.
    return 'http://127.0.0.1:9/callback';
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'portcullis oauth test',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.client;
  }
  saveClientInformation(client: OAuthClientInformationMixed): void {
    this.client = client;
  }
  tokens(): OAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    return this.verifier;
  }
}

interface OAuthGateway {
  g: TestGateway;
  issuer: string;
  /** Fetch trusting the gateway's CA, without a client certificate. */
  fetch: typeof fetch;
  dispatcher: Agent;
}

async function startOAuthGateway(t: Test, sections: Record<string, unknown> = {}, grants: Record<string, string[]> = {}): Promise<OAuthGateway> {
  const { issuer } = await startAuthorizationServer(t);
  const decider = Object.keys(grants).length === 0 ? undefined : await policyWithGrants(t, grants);
  const g = await startTestGateway(
    t,
    {
      listen: { auth: ['oauth'] },
      oauth: { authorization_servers: [issuer], scopes_supported: [MCP_SCOPE], identity: { agents: { [DEMO_ACCOUNT]: 'demo' } } },
      ...sections,
    },
    decider,
  );
  const dispatcher = new Agent({ connect: { ca: g.ca } });
  t.teardown(() => dispatcher.destroy());
  return { g, issuer, fetch: tlsFetch(t, { ca: g.ca }), dispatcher };
}

/** The SDK client's whole flow: 401, discovery, registration, authorization (as `account`), code exchange; then a connected client. */
async function signIn(t: Test, gw: OAuthGateway, url: string, account: string, provider = new MemoryOAuthClient()): Promise<{ provider: MemoryOAuthClient; connect: () => Promise<Client> }> {
  const transport = (): StreamableHTTPClientTransport => new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: gw.fetch });
  const first = transport();
  await t.rejects(new Client({ name: 'oauth-test', version: '1' }).connect(first), { message: /Unauthorized/ }, 'the first attempt is sent to authorize');
  t.ok(provider.authorizationUrl, 'the SDK found the authorization server from the 401 and built an authorization URL');
  const callback = await authorizeAsBrowser(provider.authorizationUrl as URL, account);
  const code = callback.searchParams.get('code');
  t.ok(code, 'the authorization server redirected back with a code');
  await first.finishAuth(code ?? '');
  const connect = async (): Promise<Client> => {
    const client = new Client({ name: 'oauth-test', version: '1' });
    await client.connect(transport());
    t.teardown(() => client.close());
    return client;
  };
  return { provider, connect };
}

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

/** A raw initialize with the given Authorization header (or none). */
async function rawInitialize(gw: OAuthGateway, authorization?: string) {
  const res = await request(`${gw.g.gateway.url}/mcp/everything`, {
    method: 'POST',
    dispatcher: gw.dispatcher,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization === undefined ? {} : { authorization }) },
    body: initialize,
  });
  // The answer is JSON-RPC (parsed JSON, shape checked by the assertions).
  return { status: res.statusCode, challenge: res.headers['www-authenticate'], body: (await res.body.json()) as { error?: { code: number; message: string } } };
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((part) => part.text ?? '').join('');
}

t.test('the gateway is an OAuth protected resource: metadata and challenge', async (t) => {
  const gw = await startOAuthGateway(t);
  const base = gw.g.gateway.url;
  const expected = { resource: `${base}/mcp`, authorization_servers: [gw.issuer], bearer_methods_supported: ['header'], scopes_supported: [MCP_SCOPE] };
  for (const where of ['', '/mcp', '/mcp/everything']) {
    const res = await gw.fetch(`${base}/.well-known/oauth-protected-resource${where}`);
    t.equal(res.status, 200, `metadata at the well-known path + "${where}" without credentials`);
    t.same(await res.json(), expected, 'names the resource and its authorization server');
  }
  t.equal((await gw.fetch(`${base}/.well-known/oauth-protected-resource/elsewhere`)).status, 404, 'no metadata for a path that is not this resource');

  const missing = await rawInitialize(gw);
  t.equal(missing.status, 401, 'no token: 401');
  t.equal(missing.challenge, `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="${MCP_SCOPE}"`, 'the challenge names the metadata and the scope, and no error');
  const garbage = await rawInitialize(gw, 'Bearer not.a.token');
  t.equal(garbage.status, 401);
  t.match(garbage.challenge, /^Bearer resource_metadata="[^"]+", scope="[^"]+", error="invalid_token", error_description="[^"]+"$/, 'a bad token is named invalid_token');
  t.equal(garbage.body.error?.code, ERRORS.unauthenticated.code);
});

t.test('the MCP SDK client signs in by itself and acts as the agent its token maps to', async (t) => {
  const gw = await startOAuthGateway(t);
  const { provider, connect } = await signIn(t, gw, `${gw.g.gateway.url}/mcp/everything`, DEMO_ACCOUNT);
  const token = provider.tokens()?.access_token ?? '';
  const claims = decodeJwt(token);
  t.equal(claims.aud, `${gw.g.gateway.url}/mcp`, 'the access token is bound to the gateway resource (RFC 8707)');
  t.equal(claims.iss, gw.issuer);
  t.equal(claims.sub, DEMO_ACCOUNT);

  const client = await connect();
  const { tools } = await client.listTools();
  t.ok(tools.some((tool) => tool.name === 'echo'), 'tools/list through the gateway');
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'signed in' } })), 'Echo: signed in', 'tools/call as demo');

  // The same token on the aggregate endpoint: one resource covers /mcp and /mcp/<server>.
  const aggregate = new Client({ name: 'oauth-test', version: '1' });
  await aggregate.connect(new StreamableHTTPClientTransport(new URL(`${gw.g.gateway.url}/mcp`), { authProvider: provider, fetch: gw.fetch }));
  t.teardown(() => aggregate.close());
  t.ok((await aggregate.listTools()).tools.some((tool) => tool.name === 'everything__echo'), 'the aggregate endpoint takes the same token');

  // Revocation works for OAuth tokens as for the others: by token id (`token revoke --jti`), and by agent.
  const list = { file: gw.g.pki.revokedIdentities, keyPem: readFileSync(gw.g.pki.serverKey, 'utf8'), certPem: readFileSync(gw.g.pki.serverCert, 'utf8') };
  t.equal((await rawInitialize(gw, `Bearer ${token}`)).status, 200, 'served before revocation');
  revokeIdentities(list, { jtis: [String(claims.jti)] });
  let refusal = await rawInitialize(gw, `Bearer ${token}`);
  for (let i = 0; i < 40 && refusal.status !== 401; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    refusal = await rawInitialize(gw, `Bearer ${token}`);
  }
  t.equal(refusal.status, 401, 'a revoked token id is refused');
  t.match(refusal.body.error?.message, /token revoked/);
  await t.rejects(client.callTool({ name: 'echo', arguments: { message: 'after' } }), 'the open session of the revoked token is closed');
});

t.test('tokens the gateway refuses, and a token of no known agent', async (t) => {
  const gw = await startOAuthGateway(t);
  const url = `${gw.g.gateway.url}/mcp/everything`;

  await t.test('a token for another resource (audience) is refused', async (t) => {
    const elsewhere = new MemoryOAuthClient(async () => new URL('https://other.example/mcp'));
    const { provider } = await signIn(t, gw, url, DEMO_ACCOUNT, elsewhere);
    const token = provider.tokens()?.access_token ?? '';
    t.equal(decodeJwt(token).aud, 'https://other.example/mcp', 'the authorization server issued it for the other resource');
    const answer = await rawInitialize(gw, `Bearer ${token}`);
    t.equal(answer.status, 401);
    t.match(answer.body.error?.message, /"aud" claim/, 'the reason names the audience');
    t.match(answer.challenge, /error="invalid_token", error_description="'aud' claim not accepted"/, 'the challenge says why, with no quote inside the quoted value');
  });

  await t.test('a token signed by another key, naming the same issuer and audience, is refused', async (t) => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ scope: MCP_SCOPE })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setIssuer(gw.issuer)
      .setAudience(`${gw.g.gateway.url}/mcp`)
      .setSubject(DEMO_ACCOUNT)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const answer = await rawInitialize(gw, `Bearer ${forged}`);
    t.equal(answer.status, 401);
    t.match(answer.body.error?.message, /signature/);
  });

  await t.test('a token of another issuer is refused', async (t) => {
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://issuer.example').setAudience(`${gw.g.gateway.url}/mcp`).setSubject(DEMO_ACCOUNT).setExpirationTime('5m').sign(privateKey);
    const answer = await rawInitialize(gw, `Bearer ${foreign}`);
    t.equal(answer.status, 401);
    t.match(answer.body.error?.message, /"iss" claim/);
  });

  await t.test('a valid token of an unmapped account is an anonymous identity the default policy denies', async (t) => {
    const { provider, connect } = await signIn(t, gw, url, 'mallory@example.test');
    t.ok(provider.tokens()?.access_token, 'the authorization server issued a token');
    await t.rejects(connect(), { code: ERRORS.policyDenied.code }, 'even initialize is denied by the policy');
  });
});

t.test('the agent token is never sent upstream', async (t) => {
  // A real MCP server over Streamable HTTP that reports every header it receives.
  const seen: Array<Record<string, string | string[] | undefined>> = [];
  const upstreamUrl = await startHelloUpstream(t, (headers) => seen.push(headers));
  const gw = await startOAuthGateway(t, { upstreams: { remote: { http: { url: upstreamUrl } } } }, { demo: ['remote'] });

  const { provider, connect } = await signIn(t, gw, `${gw.g.gateway.url}/mcp/remote`, DEMO_ACCOUNT);
  const client = await connect();
  t.equal(textOf(await client.callTool({ name: 'hello', arguments: {} })), 'hello from remote', 'the call went through');
  const token = provider.tokens()?.access_token ?? '';
  t.ok(token.length > 0 && seen.length > 0);
  t.ok(
    seen.every((headers) => headers.authorization === undefined),
    'no upstream request carried an Authorization header',
  );
  t.notOk(JSON.stringify(seen).includes(token.split('.')[2] ?? token), 'the token appears in no upstream header');
});

t.test('mcp-remote, unchanged, signs in and bridges a stdio client', async (t) => {
  const gw = await startOAuthGateway(t);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-mcp-remote-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, gw.g.ca);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(ROOT, 'node_modules/mcp-remote/dist/proxy.js'), `${gw.g.gateway.url}/mcp/everything`, '--host', '127.0.0.1', '--transport', 'http-only'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      // Its token store, and trust in the gateway's development CA.
      MCP_REMOTE_CONFIG_DIR: path.join(dir, 'auth'),
      NODE_EXTRA_CA_CERTS: caFile,
      // The "browser" it launches does nothing: this test follows the printed URL itself.
      BROWSER: '/bin/true',
    },
    stderr: 'pipe',
  });
  let log = '';
  const authorizationUrl = new Promise<string>((resolve) => {
    transport.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const url = /authorize this client by visiting:\s*(\S+)/.exec(log)?.[1];
      if (url !== undefined) resolve(url);
    });
  });
  const client = new Client({ name: 'stdio-through-mcp-remote', version: '1' });
  t.teardown(() => client.close());
  const connected = client.connect(transport);
  const url = await Promise.race([authorizationUrl, connected.then(() => '')]);
  t.ok(url.startsWith(`${gw.issuer}/`), 'mcp-remote discovered the authorization server from the gateway and printed where to sign in');
  const callback = await authorizeAsBrowser(url, DEMO_ACCOUNT);
  t.match(callback.href, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback\?/, 'the authorization server sends the browser back to mcp-remote');
  const answer = await fetch(callback);
  t.equal(answer.status, 200, 'mcp-remote took the code');
  await answer.body?.cancel();
  await connected;
  const { tools } = await client.listTools();
  t.ok(tools.some((tool) => tool.name === 'echo'), 'a stdio client lists the tools through mcp-remote and the gateway');
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'bridged' } })), 'Echo: bridged', 'and calls one as demo');
});
