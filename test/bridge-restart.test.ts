/**
 * The bridge outlives the gateway: while the gateway is down it says so
 * (stderr, and an error answer to the client instead of a hang), and when
 * the gateway comes back on the same port it serves again: a stdio client
 * keeps its session (the bridge opens a new gateway session with the
 * client's own initialize), an HTTP client through --listen starts a new one.
 * Also: the loopback listener refuses a non-loopback --listen host and a
 * foreign Host or Origin (DNS rebinding), as the gateway does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { runCli } from '../gateway/cli/commands.js';
import { ERRORS } from '../gateway/errors.js';
import { startGateway } from '../gateway/server.js';
import { cliCommand, eventually, freePort, startListeningBridge, writeIdentity } from './fixtures/bridge-harness.js';
import { defaultPolicy, startTestGateway } from './fixtures/gateway-harness.js';

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

async function httpClient(url: string): Promise<Client> {
  const client = new Client({ name: 'http-only', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

t.test('a gateway restart on the same port', async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bridge-restart-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const port = await freePort();
  const g = await startTestGateway(t, { listen: { port } });
  const files = writeIdentity(g, work, 'demo');
  const gatewayUrl = `${g.gateway.url}/mcp/everything`;
  const identity = ['--cert', files.cert, '--key', files.key, '--ca', files.ca];

  const cli = cliCommand(['connect', gatewayUrl, ...identity]);
  const stdioTransport = new StdioClientTransport({ command: cli.command, args: cli.args, env: cli.env, stderr: 'pipe' });
  let stdioErr = '';
  stdioTransport.stderr?.on('data', (chunk: Buffer) => (stdioErr += chunk.toString('utf8')));
  const stdio = new Client({ name: 'stdio-desktop', version: '1.0.0' });
  await stdio.connect(stdioTransport);
  t.teardown(() => stdio.close());
  const bridge = await startListeningBridge(t, [gatewayUrl, ...identity]);
  const before = await httpClient(bridge.url);
  t.teardown(() => before.close());
  const echo = (client: Client, message: string): Promise<string> => client.callTool({ name: 'echo', arguments: { message } }).then(text);
  t.equal(await echo(stdio, 'one'), 'Echo: one');
  t.equal(await echo(before, 'one'), 'Echo: one');

  await g.gateway.close();
  const down = `gateway down: nothing listens at 127.0.0.1:${port}`;
  await t.rejects(echo(stdio, 'while down'), new RegExp(`${ERRORS.gatewayUnreachable.message}: ${down}`), 'the stdio client is answered, not left waiting');
  const refused = await request(bridge.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: INIT });
  t.equal(refused.statusCode, 502, 'the HTTP client gets 502 Bad Gateway');
  t.match(await refused.body.json(), { error: { code: ERRORS.gatewayUnreachable.code, message: new RegExp(down) } });
  t.ok(await eventually(() => stdioErr.includes(`portcullis connect: ${down}\n`)), 'the stdio bridge says why on stderr');
  t.ok(bridge.stderr().includes(`portcullis connect: ${down}\n`), 'so does the listening bridge');

  const again = await startGateway({ config: g.config, decider: await defaultPolicy(), log: () => undefined });
  t.teardown(() => again.close());
  t.equal(again.port, port, 'the gateway is back on its port');
  t.equal(await echo(stdio, 'two'), 'Echo: two', 'the same stdio client session serves again');
  const after = await httpClient(bridge.url);
  t.teardown(() => after.close());
  t.equal(await echo(after, 'two'), 'Echo: two', 'a new HTTP session through the same bridge serves');
  t.match(stdioErr, /reached the gateway at 127\.0\.0\.1:\d+ again\n$/);
  t.match(bridge.stderr(), /reached the gateway at 127\.0\.0\.1:\d+ again\n$/);
});

t.test('the loopback listener: loopback only, Host and Origin checked', async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bridge-listen-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const g = await startTestGateway(t);
  const files = writeIdentity(g, work, 'demo');
  const identity = ['--cert', files.cert, '--key', files.key, '--ca', files.ca];
  const gatewayUrl = `${g.gateway.url}/mcp/everything`;

  let err = '';
  const code = await runCli(['connect', gatewayUrl, ...identity, '--listen', '0.0.0.0:0'], { out: () => undefined, err: (line) => (err += line) });
  t.equal(code, 2, 'a non-loopback --listen is a usage error');
  t.match(err, /--listen must name a loopback address/);

  const bridge = await startListeningBridge(t, [gatewayUrl, ...identity]);
  const local = new URL(bridge.url);
  const post = (headers: Record<string, string>) =>
    request(bridge.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: INIT });
  const rebound = await post({ host: `evil.example:${local.port}` });
  t.equal(rebound.statusCode, 403, 'a foreign Host is refused');
  t.match(await rebound.body.json(), { error: { message: ERRORS.forbiddenHost.message } });
  const foreign = await post({ origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403, 'a foreign Origin is refused');
  t.match(await foreign.body.json(), { error: { message: ERRORS.forbiddenOrigin.message } });
  const same = await post({ origin: `http://localhost:${local.port}` });
  t.equal(same.statusCode, 200, "the listener's own loopback origin is served");
  await same.body.dump();
  const elsewhere = await request(new URL('/admin/holds', bridge.url), { method: 'GET' });
  t.equal(elsewhere.statusCode, 404, 'only the MCP path is served: nothing else of the gateway is reachable with these credentials');
  await elsewhere.body.dump();
});
