/**
 * `portcullis connect` over stdio, driven by the SDK's own stdio client as a
 * desktop client would launch it: tools, progress, cancellation, sampling and
 * elicitation all pass through the bridge and the gateway (mTLS, the real
 * compiled default policy) to real upstreams: the project's conformance
 * server over HTTP and the npm everything server over stdio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { startConformanceUpstream } from '../test-support/mcp-conformance-suite.js';
import { ERRORS } from '../gateway/errors.js';
import { cliCommand, eventually, writeIdentity } from './fixtures/bridge-harness.js';
import { defaultUpstreams, policyWithGrants, startTestGateway } from './fixtures/gateway-harness.js';

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

t.test('a stock stdio client through portcullis connect', async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bridge-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const upstream = await startConformanceUpstream('stateful');
  t.teardown(() => upstream.close());
  const decider = await policyWithGrants(t, { demo: ['conformance'] });
  const g = await startTestGateway(t, { upstreams: { ...defaultUpstreams(work), conformance: { http: { url: upstream.url } } } }, decider);
  const files = writeIdentity(g, work, 'demo');

  const cli = cliCommand(['connect', `${g.gateway.url}/mcp`, '--cert', files.cert, '--key', files.key, '--ca', files.ca]);
  const transport = new StdioClientTransport({ command: cli.command, args: cli.args, env: cli.env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = new Client({ name: 'stdio-desktop', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
  await client.connect(transport);
  // What reached the client, in order, as the stdio transport read it.
  const received: JSONRPCMessage[] = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message) => {
    received.push(message);
    deliver?.(message);
  };
  t.teardown(() => client.close());

  await t.test('tools', async (t) => {
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    t.ok(names.includes('conformance__test_simple_text') && names.includes('everything__echo'), 'both upstreams are listed');
    t.equal(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'through the bridge' } })), 'Echo: through the bridge');
  });

  await t.test('progress', async (t) => {
    const from = received.length;
    const result = await client.callTool({ name: 'conformance__test_tool_with_progress', arguments: {} }, undefined, { onprogress: () => undefined });
    t.equal(text(result), 'Tool with progress executed successfully');
    // Read off the wire, not from onprogress: the SDK client runs notification handlers a microtask after the
    // messages it reads in the same chunk, so a progress read together with the answer reaches no handler
    // (the same with any stdio server that answers right after its last progress).
    const progress = received.slice(from).map((m) => ('method' in m && m.method === 'notifications/progress' ? m.params?.progress : 'answer'));
    t.same(progress, [0, 50, 100, 'answer'], 'every progress notification, in order, before the answer');
  });

  await t.test('sampling', async (t) => {
    const asked: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const content = request.params.messages[0]?.content;
      asked.push(content !== undefined && 'text' in content ? String(content.text) : '');
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'from the desktop' } };
    });
    const result = await client.callTool({ name: 'conformance__test_sampling', arguments: { prompt: 'hello?' } });
    t.equal(text(result), 'LLM response: from the desktop');
    t.same(asked, ['hello?'], 'the server request reached the client unchanged');
  });

  await t.test('elicitation', async (t) => {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      t.equal(request.params.message, 'who are you?');
      return { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } };
    });
    const result = await client.callTool({ name: 'conformance__test_elicitation', arguments: { message: 'who are you?' } });
    t.match(text(result), /action=accept.*"username":"ada"/);
  });

  await t.test('cancellation', async (t) => {
    const abort = new AbortController();
    const started = Date.now();
    const call = client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, undefined, {
      signal: abort.signal,
      onprogress: () => abort.abort('the user stopped it'),
    });
    await t.rejects(call, 'the cancelled call ends');
    t.ok(Date.now() - started < 20_000, 'long before the operation would have finished');
    // The client's notifications/cancelled crossed the bridge: the gateway ended the call with its own answer.
    const cancelledAnswer = (): boolean => received.some((m) => 'error' in m && m.error.code === ERRORS.cancelled.code);
    t.ok(await eventually(cancelledAnswer), 'the gateway answered the call as cancelled');
    t.equal(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'still here' } })), 'Echo: still here', 'the session serves on');
  });

  t.equal(stderr, '', 'nothing to report on stderr');
});
