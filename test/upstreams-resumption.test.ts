/**
 * HTTP upstream resumption: an upstream that closes a call's event stream
 * before answering (SEP-1699 polling, the SDK server's closeSSEStream with
 * its event store) is resumed with GET and Last-Event-ID, and the call
 * completes, on the agent's own upstream session and on the shared one.
 */
import t from 'tap';
import { connectClient, startTestGateway } from './fixtures/gateway-harness.js';
import { policyGrantingAll, startSessionUpstream } from './fixtures/session-upstream.js';

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

for (const isolation of ['per_agent', 'shared'] as const) {
  t.test(`a call whose upstream stream closes mid-call completes (isolation: ${isolation})`, async (t) => {
    const upstream = await startSessionUpstream(t);
    const g = await startTestGateway(
      t,
      // A timeout far shorter than the SDK client's 60 s: a call that is never resumed fails here, fast.
      { upstreams: { remote: { http: { url: upstream.url }, isolation, timeout_ms: 5000 } } },
      policyGrantingAll(['alice'], ['remote']),
    );
    const alice = await connectClient(t, `${g.gateway.url}/mcp/remote`, { ca: g.ca, ...g.issue('alice') });
    for (const attempt of [1, 2]) {
      const started = Date.now();
      t.equal(text(await alice.callTool({ name: 'reconnect', arguments: {} })), 'answered after the stream closed', `call ${attempt} answered`);
      t.ok(Date.now() - started < 4000, `call ${attempt} resumed promptly (${Date.now() - started} ms)`);
    }
  });
}
