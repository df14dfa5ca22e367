/**
 * How a POST is answered (listen.sse_answers): with an event stream when
 * the upstream answered with one (auto, the default), and for every
 * tools/call when configured (tools_call); with JSON otherwise.
 */
import t from 'tap';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { PROBE, startTestGateway } from './fixtures/gateway-harness.js';
import type { TestGateway } from './fixtures/gateway-harness.js';
import { policyGrantingAll, startSessionUpstream } from './fixtures/session-upstream.js';

interface Answer {
  type: string;
  text: string;
}

/** An initialized session on `path`; post() sends one message and reads the whole answer. */
async function rawSession(t: Test, g: TestGateway, path: string): Promise<(body: object) => Promise<Answer>> {
  const dispatcher = new Agent({ connect: { ca: g.ca, ...g.issue('demo') } });
  t.teardown(() => dispatcher.close());
  let session: string | undefined;
  const post = async (body: object): Promise<Answer> => {
    const res = await request(`${g.gateway.url}${path}`, {
      method: 'POST',
      dispatcher,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        ...(session === undefined ? {} : { 'mcp-session-id': session }),
      },
      body: JSON.stringify(body),
    });
    const id = res.headers['mcp-session-id'];
    if (typeof id === 'string') session = id;
    return { type: String(res.headers['content-type'] ?? ''), text: await res.body.text() };
  };
  await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return post;
}

const call = (name: string, args: object = {}): object => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

t.test('auto: a call the HTTP upstream answered with an event stream is answered with one', async (t) => {
  const upstream = await startSessionUpstream(t);
  const g = await startTestGateway(t, { upstreams: { remote: { http: { url: upstream.url } } } }, policyGrantingAll(['demo'], ['remote']));
  const post = await rawSession(t, g, '/mcp/remote');
  const answer = await post(call('wait', { ms: 1 }));
  t.match(answer.type, /^text\/event-stream/, 'an event stream');
  t.match(answer.text, /^event: message\nid: \S+\ndata: \{"jsonrpc":"2\.0","id":1,"result":\{"content":\[\{"type":"text","text":"waited"\}\]/, 'carrying the answer');
});

t.test('auto: a stdio upstream is answered with JSON', async (t) => {
  const g = await startTestGateway(t, { upstreams: { probe: { stdio: { command: 'node', args: [PROBE] } } } }, policyGrantingAll(['demo'], ['probe']));
  const post = await rawSession(t, g, '/mcp/probe');
  t.match((await post(call('active'))).type, /^application\/json/);
});

t.test('tools_call: every tools/call is answered with an event stream, other requests with JSON', async (t) => {
  const g = await startTestGateway(
    t,
    { listen: { sse_answers: 'tools_call' }, upstreams: { probe: { stdio: { command: 'node', args: [PROBE] } } } },
    policyGrantingAll(['demo'], ['probe']),
  );
  const post = await rawSession(t, g, '/mcp/probe');
  const answer = await post(call('active'));
  t.match(answer.type, /^text\/event-stream/, 'tools/call: an event stream');
  t.match(answer.text, /"id":1,"result":\{"content":\[\{"type":"text","text":"0"\}\]/, 'carrying the answer');
  t.match((await post(list)).type, /^application\/json/, 'tools/list: JSON');
  const denied = await post(call('no-such-tool'));
  t.match(denied.type, /^text\/event-stream/, 'a refused tools/call too');
  t.match(denied.text, /"id":1,"error"/);
});
