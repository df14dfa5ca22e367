/**
 * One listener for every identity (`listen.auth` as a list): a client
 * certificate, or a TLS handshake without one and a bearer token; a
 * certificate that does not verify is refused whatever else comes with it;
 * revocation reaches both kinds of credential. `/healthz` answers anyone
 * (any Host, no credentials) and says only that the process is alive, on
 * every listener, mTLS-only included; `/readyz` stays authenticated.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { configFromObject } from '../gateway/config/load.js';
import { ERRORS } from '../gateway/errors.js';
import { issueToken } from '../gateway/identity/jwt.js';
import { createCa, createClientCert } from '../gateway/pki/certs.js';
import { revoke } from '../gateway/pki/store.js';
import { startGateway } from '../gateway/server.js';
import { EVERYTHING, startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import type { TestGateway } from './fixtures/gateway-harness.js';

const UPSTREAMS = { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } };
const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Connections for one test: with a client certificate (or none), closed on teardown. */
function dispatcherFor(t: Test, g: TestGateway, cert?: { cert: string; key: string }): Agent {
  const agent = new Agent({ connect: { ca: g.ca, ...(cert ?? {}) } });
  t.teardown(() => agent.destroy());
  return agent;
}

async function send(g: TestGateway, dispatcher: Agent, path: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const res = await request(`${g.gateway.url}${path}`, {
    method: init.method ?? 'GET',
    dispatcher,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const initialize = (g: TestGateway, dispatcher: Agent, authorization?: string): Promise<Answer> =>
  send(g, dispatcher, '/mcp/everything', { method: 'POST', body: INITIALIZE, ...(authorization === undefined ? {} : { headers: { authorization } }) });

t.test('a listener for certificates and tokens', async (t) => {
  const g = await startTestGateway(t, { listen: { auth: ['mtls', 'jwt'] }, upstreams: UPSTREAMS });
  const serverKey = readFileSync(g.pki.serverKey, 'utf8');
  const bearer = async (agent: string): Promise<string> => `Bearer ${await issueToken(serverKey, g.config.jwt, TRUST_DOMAIN, agent, 600)}`;
  const anonymous = dispatcherFor(t, g);

  await t.test('a client certificate is served', async (t) => {
    t.equal((await initialize(g, dispatcherFor(t, g, g.issue('demo')))).status, 200);
  });

  await t.test('a handshake without a certificate is served with a valid token', async (t) => {
    t.equal((await initialize(g, anonymous, await bearer('demo'))).status, 200);
  });

  await t.test('without a certificate and without a token: 401 with a bearer challenge', async (t) => {
    const answer = await initialize(g, anonymous);
    t.equal(answer.status, 401);
    t.match(JSON.parse(answer.text), { error: { code: ERRORS.unauthenticated.code, message: /client certificate or bearer token required/ } });
    t.equal(answer.headers['www-authenticate'], 'Bearer realm="portcullis"', 'RFC 6750: no error named when no token was sent');
    const bad = await initialize(g, anonymous, 'Bearer abc.def.ghi');
    t.equal(bad.status, 401);
    t.equal(bad.headers['www-authenticate'], 'Bearer realm="portcullis", error="invalid_token", error_description="malformed token"');
  });

  await t.test('a certificate that does not verify is refused, even with a valid token', async (t) => {
    const rogue = createClientCert(createCa(TRUST_DOMAIN), TRUST_DOMAIN, 'demo');
    await t.rejects(initialize(g, dispatcherFor(t, g, { cert: rogue.certPem, key: rogue.keyPem }), await bearer('demo')), 'the connection is closed');
    const ca = { certPem: g.ca, keyPem: readFileSync(g.pki.caKey, 'utf8') };
    const past = new Date(Date.now() - 10 * 86_400_000);
    const expired = createClientCert(ca, TRUST_DOMAIN, 'demo', { notBefore: past, notAfter: new Date(past.getTime() + 86_400_000) });
    await t.rejects(initialize(g, dispatcherFor(t, g, { cert: expired.certPem, key: expired.keyPem }), await bearer('demo')), 'an expired certificate too');
  });

  await t.test('revoking an agent refuses its certificate and its tokens', async (t) => {
    const tls = g.issue('reporter-2');
    const token = await bearer('reporter-2');
    t.equal((await initialize(g, dispatcherFor(t, g, tls))).status, 200, 'certificate served before');
    t.equal((await initialize(g, anonymous, token)).status, 200, 'token served before');
    revoke(g.pki, 'reporter-2', { list: { file: g.pki.revokedIdentities, keyPem: serverKey, certPem: readFileSync(g.pki.serverCert, 'utf8') }, trustDomain: TRUST_DOMAIN });
    const refused = await initialize(g, dispatcherFor(t, g, tls));
    t.equal(refused.status, 401, 'a new connection with the revoked certificate is refused');
    t.match(JSON.parse(refused.text), { error: { message: `${ERRORS.unauthenticated.message}: certificate revoked` } }, 'with the reason');
    t.equal(refused.headers.connection, 'close', 'and closed');
    let status = 0;
    for (let i = 0; i < 40 && status !== 401; i++) {
      status = (await initialize(g, anonymous, token)).status;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.equal(status, 401, 'its token is refused');
    t.equal((await initialize(g, anonymous, await bearer('demo'))).status, 200, 'another agent keeps working');
  });

  await t.test('/healthz answers anyone, /readyz only the authenticated', async (t) => {
    const health = await send(g, anonymous, '/healthz', { headers: { host: '10.1.2.3:8443' } });
    t.equal(health.status, 200, 'no credentials, and the Host a probe sends');
    t.same(JSON.parse(health.text), { status: 'ok' }, 'says only that it is alive');
    t.equal((await send(g, anonymous, '/readyz')).status, 401, '/readyz without credentials');
    const ready = await send(g, anonymous, '/readyz', { headers: { authorization: await bearer('demo') } });
    t.equal(ready.status, 200, '/readyz with a token');
    t.match(JSON.parse(ready.text), { upstreams: [{ name: 'everything' }] }, 'with its details');
  });
});

t.test('an mTLS-only listener: /healthz without a certificate, nothing else', async (t) => {
  const g = await startTestGateway(t, { upstreams: UPSTREAMS });
  const anonymous = dispatcherFor(t, g);
  const health = await send(g, anonymous, '/healthz');
  t.equal(health.status, 200, '/healthz without a certificate');
  t.same(JSON.parse(health.text), { status: 'ok' });
  const refused = await initialize(g, anonymous);
  t.equal(refused.status, 401, 'an MCP request without a certificate');
  t.match(JSON.parse(refused.text), { error: { message: /client certificate required/ } });
  t.equal(refused.headers['www-authenticate'], undefined, 'no bearer challenge where no token is taken');
  t.equal((await initialize(g, anonymous, 'Bearer abc.def.ghi')).status, 401, 'a token is not a credential here');
  t.equal((await send(g, anonymous, '/readyz')).status, 401, '/readyz without a certificate');
  t.equal((await send(g, anonymous, '/admin/holds')).status, 401, 'nor the admin API, as before: certificates are the only way in here');
  t.equal((await initialize(g, dispatcherFor(t, g, g.issue('demo')))).status, 200, 'a certificate is served');
  const rogue = createClientCert(createCa(TRUST_DOMAIN), TRUST_DOMAIN, 'demo');
  await t.rejects(send(g, dispatcherFor(t, g, { cert: rogue.certPem, key: rogue.keyPem }), '/healthz'), 'a certificate of another CA is refused outright');
});

t.test('listen.auth: one method or a list of them', async (t) => {
  const load = (auth: unknown, extra: Record<string, unknown> = {}) => configFromObject({ listen: { auth }, ...extra }, '/tmp');
  t.equal(load('jwt').listen.auth, 'jwt', 'the single string is still accepted');
  t.same(load(['mtls', 'jwt']).listen.auth, ['mtls', 'jwt']);
  t.same(load(['mtls', 'jwt', 'oauth'], { oauth: { authorization_servers: ['https://as.example'] } }).listen.auth, ['mtls', 'jwt', 'oauth']);
  for (const bad of [[], ['mtls', 'mtls'], ['password'], 'password']) t.throws(() => load(bad), /listen\.auth/, `${JSON.stringify(bad)} refused`);
  t.throws(() => load('oauth', { oauth: { authorization_servers: ['http://as.example'] } }), /oauth\.authorization_servers/, 'an authorization server over plain http off loopback is refused');
  await t.rejects(startGateway({ config: load(['oauth']), log: () => undefined }), /listen\.auth names oauth but there is no oauth section/);
});
