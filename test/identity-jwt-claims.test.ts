/**
 * Malformed claims in a token the gateway itself signed (so only the claims
 * are wrong): every one is refused with HTTP 401 and a reason naming what is
 * wrong, never a 500; a well-formed token is served.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { Agent, request } from 'undici';
import { ERRORS } from '../gateway/errors.js';
import { startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

const SUB = `spiffe://${TRUST_DOMAIN}/agent/demo`;
const now = () => Math.floor(Date.now() / 1000);

t.test('malformed JWT claims answer 401 with a reason', async (t) => {
  const g = await startTestGateway(t, { listen: { auth: 'jwt' }, upstreams: {} });
  const key = createPrivateKey(readFileSync(g.pki.serverKey, 'utf8'));
  const { issuer, audience } = g.config.jwt;
  const dispatcher = new Agent({ connect: { ca: g.ca } });
  t.teardown(() => dispatcher.destroy());

  /** A token signed with the gateway's key: good claims, with `change` applied (undefined removes a claim). */
  const signed = (change: Record<string, unknown>): Promise<string> => {
    const claims: Record<string, unknown> = { sub: SUB, iss: issuer, aud: audience, iat: now(), exp: now() + 600, jti: 'a-token-id', ...change };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(key);
  };
  const answer = async (jwt: string): Promise<{ status: number; body: { error?: { code: number; message: string } } }> => {
    const res = await request(`${g.gateway.url}/mcp`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${jwt}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'claims', version: '1' } } }),
    });
    // The answer is JSON-RPC (parsed JSON, shape checked by the assertions).
    return { status: res.statusCode, body: (await res.body.json()) as { error?: { code: number; message: string } } };
  };

  t.equal((await answer(await signed({}))).status, 200, 'well-formed token served');

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['sub is an array', { sub: [SUB] }, /"sub"/],
    ['sub is an array of two', { sub: [SUB, 'spiffe://x/agent/y'] }, /"sub"/],
    ['sub is a number', { sub: 42 }, /"sub"/],
    ['sub is an object', { sub: { id: SUB } }, /"sub"/],
    ['sub is null', { sub: null }, /"sub"/],
    ['sub is missing', { sub: undefined }, /"sub"/],
    ['sub is empty', { sub: '' }, /"sub"/],
    ['sub has control characters', { sub: `${SUB}\n` }, /"sub"/],
    ['sub is very long', { sub: `${SUB}${'x'.repeat(5000)}` }, /"sub"/],
    ['jti is a number', { jti: 7 }, /"jti"/],
    ['jti is an array', { jti: ['a'] }, /"jti"/],
    ['jti is empty', { jti: '' }, /"jti"/],
    ['exp is a string', { exp: String(now() + 600) }, /"exp"/],
    ['exp is missing', { exp: undefined }, /"exp"/],
    ['exp has passed', { exp: now() - 120, iat: now() - 300 }, /expired/],
    ['iat is a string', { iat: String(now()) }, /"iat"/],
    ['iat is missing', { iat: undefined }, /"iat"/],
    ['iat is in the future', { iat: now() + 3600 }, /"iat"/],
    ['iat is older than jwt.max_ttl_s', { iat: now() - 2 * 86_400 }, /"iat"|older/],
    ['nbf is in the future', { nbf: now() + 3600 }, /"nbf"/],
    ['iss is another issuer', { iss: 'someone-else' }, /"iss"/],
    ['iss is an array', { iss: [issuer] }, /"iss"/],
    ['aud is another audience', { aud: 'someone-else' }, /"aud"/],
    ['aud is a number', { aud: 5 }, /"aud"/],
  ];
  for (const [what, change, reason] of cases) {
    const { status, body } = await answer(await signed(change));
    t.equal(status, 401, `${what}: 401`);
    t.equal(body.error?.code, ERRORS.unauthenticated.code, `${what}: unauthenticated code`);
    t.match(body.error?.message, /^Unauthorized: no valid client identity: /, `${what}: a reason is given`);
    t.match(body.error?.message, reason, `${what}: the reason names the claim`);
  }

  const [header, payload] = (await signed({})).split('.');
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload ?? ''}.`;
  const tampered = `${header ?? ''}.${Buffer.from(JSON.stringify({ sub: SUB, iss: issuer, aud: audience, iat: now(), exp: now() + 60 })).toString('base64url')}.c2lnbmF0dXJl`;
  for (const [what, jwt, reason] of [
    ['alg none', unsigned, /algorithm/],
    ['signature does not verify', tampered, /signature/],
    ['not a JWT', 'abc.def.ghi', /malformed/],
  ] as const) {
    const { status, body } = await answer(jwt);
    t.equal(status, 401, `${what}: 401`);
    t.match(body.error?.message, reason, `${what}: reason`);
  }
});
