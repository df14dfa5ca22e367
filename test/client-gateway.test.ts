/**
 * The public client API (gateway/client, `portcullis/client`) against a real
 * gateway over mTLS and with a bearer token: the filtered tool list of its
 * identity, calls, a denial with the gateway's reason, a hold with its id
 * (holds.mode retry), progress, and cancellation that reaches the upstream.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { GatewayClient } from '../gateway/client/index.js';
import type { CallOutcome } from '../gateway/client/index.js';
import { ERRORS } from '../gateway/errors.js';
import { issueToken } from '../gateway/identity/jwt.js';
import { EVERYTHING, PROBE, policyWithGrants, startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

function text(outcome: CallOutcome): string {
  if (outcome.status !== 'ok') return `(${outcome.status})`;
  return outcome.result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

t.test('the client API through a real gateway', async (t) => {
  const decider = await policyWithGrants(t, { demo: ['probe'] });
  const g = await startTestGateway(
    t,
    {
      listen: { auth: ['mtls', 'jwt'] },
      holds: { mode: 'retry' },
      upstreams: {
        everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } },
        probe: { stdio: { command: 'node', args: [PROBE] } },
      },
    },
    decider,
  );
  const url = `${g.gateway.url}/mcp`;
  const connect = async (identity: Parameters<typeof GatewayClient.connect>[0]['identity']): Promise<GatewayClient> => {
    const client = await GatewayClient.connect({ url, identity, ca: g.ca, clientName: 'client-test' });
    t.teardown(() => client.close());
    return client;
  };
  const demo = await connect({ kind: 'certificate', ...g.issue('demo') });

  await t.test('lists the tools its identity may see, by qualified name', async (t) => {
    const names = (await demo.tools()).map((tool) => tool.name);
    t.ok(names.includes('everything__echo') && names.includes('probe__wait'), 'granted tools are listed');
    t.notOk(names.includes('everything__get-env'), 'a denied tool is not listed');
    const reporter = await connect({ kind: 'certificate', ...g.issue('reporter-1') });
    const theirs = (await reporter.tools()).map((tool) => tool.name).sort();
    t.same(theirs, ['everything__echo', 'everything__get-sum', 'everything__get-tiny-image'], 'another identity sees its own grants');
    t.ok(demo.sessionId, 'the gateway session id is known (it is on every audit record)');
  });

  await t.test('a call, and a denial as data with the gateway reason', async (t) => {
    t.equal(text(await demo.call('everything__echo', { message: 'hi' })), 'Echo: hi');
    const denied = await demo.call('everything__get-env', {});
    t.match(denied, { status: 'refused', code: ERRORS.policyDenied.code, message: /^Denied by policy/ });
  });

  await t.test('a held call names its hold', async (t) => {
    const held = await demo.call('everything__toggle-simulated-logging', {});
    t.equal(held.status, 'held');
    if (held.status === 'held') {
      t.equal(g.gateway.enforcement.holds.get(held.holdId)?.state, 'pending', 'the hold id is the gateway hold');
      t.match(held.message, held.holdId);
    }
  });

  await t.test('progress arrives', async (t) => {
    const seen: number[] = [];
    const done = await demo.call('everything__trigger-long-running-operation', { duration: 0.3, steps: 3 }, { onProgress: (p) => seen.push(p.progress) });
    t.equal(done.status, 'ok');
    t.ok(seen.length >= 1, `progress notifications: ${seen.join(',')}`);
  });

  await t.test('cancelling a call cancels it upstream', async (t) => {
    const count = async (tool: string): Promise<number> => Number(text(await demo.call(`probe__${tool}`, {})));
    const before = await count('cancelled');
    const abort = new AbortController();
    const call = demo.call('probe__wait', { ms: 20_000 }, { signal: abort.signal }).then(
      (outcome) => `answered ${JSON.stringify(outcome)}`,
      (err: unknown) => (err instanceof Error && err.name === 'AbortError' ? 'cancelled' : String(err)),
    );
    for (let i = 0; i < 200 && (await count('active')) < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    abort.abort();
    t.equal(await call, 'cancelled', 'the caller sees the cancellation');
    let after = before;
    for (let i = 0; i < 200 && after === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await count('cancelled');
    }
    t.equal(after, before + 1, 'the upstream received notifications/cancelled');
  });

  await t.test('a bearer token is an identity too', async (t) => {
    const token = await issueToken(readFileSync(g.pki.serverKey, 'utf8'), g.config.jwt, TRUST_DOMAIN, 'reporter-2', 600);
    const client = await connect({ kind: 'token', token });
    t.equal(text(await client.call('everything__echo', { message: 'by token' })), 'Echo: by token');
    t.match(await client.call('probe__wait', { ms: 1 }), { status: 'refused' }, 'under its own grants');
  });
});
