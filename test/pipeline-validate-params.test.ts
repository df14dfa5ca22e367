/**
 * Hostile params through a real gateway to real upstreams (server-filesystem,
 * server-everything), decided by the real default policy: path spellings that
 * a normaliser or a naive "../" stripper turns into traversal, and invisible
 * or control characters, are refused by the policy; params of the wrong
 * shape (non-string uri or name, a progress token that is neither a string
 * nor an integer, ...) are answered -32602 at once. None of them reaches the
 * upstream: its forwarded-call counter does not move.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ERRORS } from '../gateway/errors.js';
import { connectClient, EVERYTHING, FILESYSTEM, startTestGateway } from './fixtures/gateway-harness.js';

const JSON_AND_SSE = 'application/json, text/event-stream';
/** Longer than any answer may take here: a call that reaches the upstream with a bad token would wait this long. */
const UPSTREAM_TIMEOUT_MS = 15_000;

// The default policy's roots include `/**/var/sandbox/`: the filesystem server gets such a folder.
const base = mkdtempSync(path.join(os.tmpdir(), 'portcullis-params-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
const sandbox = path.join(base, 'var', 'sandbox');
mkdirSync(sandbox, { recursive: true });
writeFileSync(path.join(sandbox, 'note.txt'), 'inside');
writeFileSync(path.join(sandbox, '\u00e9t\u00e9.txt'), 'accented');
writeFileSync(path.join(base, 'secret.txt'), 'outside');

const g = await startTestGateway(t, {
  upstreams: {
    filesystem: { stdio: { command: 'node', args: [FILESYSTEM, sandbox] } },
    everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] }, timeout_ms: UPSTREAM_TIMEOUT_MS },
  },
});
const demoTls = { ca: g.ca, ...g.issue('demo') };
const dispatcher = new Agent({ connect: { ca: g.ca, cert: demoTls.cert, key: demoTls.key } });
t.teardown(() => dispatcher.close());

/** Calls forwarded to `server` so far, whatever their outcome. */
async function forwarded(server: string): Promise<number> {
  const { body } = await g.gateway.metrics.exposition();
  const line = new RegExp(`^portcullis_upstream_calls_total\\{server="${server}",outcome="[a-z]+"\\} (\\d+)$`, 'gm');
  return [...body.matchAll(line)].reduce((sum, m) => sum + Number(m[1]), 0);
}

interface Answer {
  status: number;
  body: any; // parsed JSON-RPC answer; the tests assert on its shape
  ms: number;
}

async function session(endpoint: string): Promise<Record<string, string>> {
  const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const res = await request(`${g.gateway.url}${endpoint}`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', accept: JSON_AND_SSE },
    body: JSON.stringify(init),
  });
  await res.body.text();
  return { 'mcp-session-id': String(res.headers['mcp-session-id']), 'mcp-protocol-version': '2025-06-18' };
}

async function post(endpoint: string, headers: Record<string, string>, method: string, params: unknown): Promise<Answer> {
  const started = Date.now();
  const body = params === undefined ? { jsonrpc: '2.0', id: 1, method } : { jsonrpc: '2.0', id: 1, method, params };
  const res = await request(`${g.gateway.url}${endpoint}`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text), ms: Date.now() - started };
}

t.test('path spellings that become traversal, or hide characters, are refused by the policy', async (t) => {
  const client = await connectClient(t, `${g.gateway.url}/mcp/filesystem`, demoTls);
  const read = (p: string) => client.callTool({ name: 'read_text_file', arguments: { path: p } });
  t.match(await read(path.join(sandbox, 'note.txt')), { content: [{ text: 'inside' }] }, 'a plain path inside the root is read');
  t.match(await read(path.join(sandbox, '\u00e9t\u00e9.txt')), { content: [{ text: 'accented' }] }, 'so is a non-ASCII one');
  const before = await forwarded('filesystem');
  t.ok(before >= 2, 'the reads were forwarded (and counted)');

  const spellings: Record<string, string> = {
    'dot-only segments (naive "../" stripping makes them "../")': `${sandbox}/....//....//secret.txt`,
    'three dots': `${sandbox}/.../secret.txt`,
    'fullwidth full stops (U+FF0E)': `${sandbox}/\uff0e\uff0e/secret.txt`,
    'one dot leaders (U+2024)': `${sandbox}/\u2024\u2024/secret.txt`,
    'a two dot leader (U+2025)': `${sandbox}/\u2025/secret.txt`,
    'an ellipsis (U+2026)': `${sandbox}/\u2026/secret.txt`,
    'small full stops (U+FE52)': `${sandbox}/\ufe52\ufe52/secret.txt`,
    'a dot and a fullwidth dot': `${sandbox}/.\uff0e/secret.txt`,
    'a zero-width space inside ".."': `${sandbox}/.\u200b./secret.txt`,
    'a zero-width joiner inside ".."': `${sandbox}/.\u200d./secret.txt`,
    'a byte order mark before ".."': `${sandbox}/\ufeff../secret.txt`,
    'a C1 control (U+0085)': `${sandbox}/note\u0085.txt`,
    'a line separator (U+2028)': `${sandbox}/note\u2028.txt`,
    'a paragraph separator (U+2029)': `${sandbox}/note\u2029.txt`,
    'a right-to-left override (U+202E)': `${sandbox}/\u202etxt.eton`,
    'a soft hyphen (U+00AD)': `${sandbox}/no\u00adte.txt`,
    'a no-break space (U+00A0)': `${sandbox}/note\u00a0.txt`,
    'a fullwidth solidus (U+FF0F)': `${sandbox}/..\uff0fsecret.txt`,
    'a fullwidth reverse solidus (U+FF3C)': `${sandbox}/..\uff3csecret.txt`,
    'a tag character (U+E0041)': `${sandbox}/note\u{e0041}.txt`,
  };
  for (const [name, spelling] of Object.entries(spellings)) {
    const refused = await read(spelling).then(
      () => undefined,
      (err: unknown) => err,
    );
    t.ok(refused instanceof McpError && refused.code === ERRORS.policyDenied.code, `${name}: denied by policy`);
  }
  t.equal(await forwarded('filesystem'), before, 'the filesystem server never saw any of them');
});

t.test('params of the wrong shape are invalid params, answered at once and never forwarded', async (t) => {
  for (const endpoint of ['/mcp/everything', '/mcp']) {
    const headers = await session(endpoint);
    const prompt = endpoint === '/mcp' ? 'everything__simple-prompt' : 'simple-prompt';
    const tool = endpoint === '/mcp' ? 'everything__echo' : 'echo';
    const uri = 'demo://resource/static/document/architecture.md';
    const allowed = await post(endpoint, headers, 'tools/call', { name: tool, arguments: { message: 'hi' }, _meta: { progressToken: 7 } });
    t.match(allowed.body, { result: { content: [{ text: 'Echo: hi' }] } }, `${endpoint}: a well-formed call goes through`);
    const before = await forwarded('everything');

    const cases: Array<[string, string, unknown, string]> = [
      ['uri 5', 'resources/read', { uri: 5 }, 'params.uri'],
      ['uri a list', 'resources/read', { uri: [uri] }, 'params.uri'],
      ['uri missing', 'resources/read', {}, 'params.uri'],
      ['no params at all', 'resources/read', undefined, 'params'],
      ['subscribe with uri 5', 'resources/subscribe', { uri: 5 }, 'params.uri'],
      ['prompt name 5', 'prompts/get', { name: 5 }, 'params.name'],
      ['prompt arguments not strings', 'prompts/get', { name: prompt, arguments: { a: 1 } }, 'params.arguments'],
      ['tool name 5', 'tools/call', { name: 5, arguments: {} }, 'params.name'],
      ['tool arguments a list', 'tools/call', { name: tool, arguments: ['hi'] }, 'params.arguments'],
      ['progress token an object', 'tools/call', { name: tool, arguments: { message: 'x' }, _meta: { progressToken: {} } }, 'params._meta.progressToken'],
      ['progress token 1.5', 'tools/call', { name: tool, arguments: { message: 'x' }, _meta: { progressToken: 1.5 } }, 'params._meta.progressToken'],
      ['progress token true', 'tools/call', { name: tool, arguments: { message: 'x' }, _meta: { progressToken: true } }, 'params._meta.progressToken'],
      ['_meta a string', 'tools/list', { _meta: 'x' }, 'params._meta'],
      ['cursor 5', 'tools/list', { cursor: 5 }, 'params.cursor'],
      ['log level not a level', 'logging/setLevel', { level: 'verbose' }, 'params.level'],
      ['completion ref without a name', 'completion/complete', { ref: { type: 'ref/prompt', name: 5 }, argument: { name: 'a', value: 'b' } }, 'params.ref'],
      ['completion argument value 5', 'completion/complete', { ref: { type: 'ref/prompt', name: prompt }, argument: { name: 'a', value: 5 } }, 'params.argument.value'],
    ];
    for (const [name, method, params, field] of cases) {
      const answer = await post(endpoint, headers, method, params);
      t.equal(answer.body.error?.code, ERRORS.invalidParams.code, `${endpoint} ${name}: invalid params`);
      t.ok(String(answer.body.error?.message).includes(field), `${endpoint} ${name}: the answer names ${field}`);
      t.ok(answer.ms < 5000, `${endpoint} ${name}: answered at once (${answer.ms} ms)`);
    }
    t.equal(await forwarded('everything'), before, `${endpoint}: none of them reached the upstream`);
  }
});

t.test('the answer names the field, never the value or an argument name', async (t) => {
  const headers = await session('/mcp/everything');
  const answer = await post('/mcp/everything', headers, 'prompts/get', { name: 'simple-prompt', arguments: { 'ghp_secretname': 42 } });
  t.equal(answer.body.error?.code, ERRORS.invalidParams.code);
  t.notMatch(JSON.stringify(answer.body), /ghp_secretname|42/);
  const token = await post('/mcp/everything', headers, 'tools/call', { name: 'echo', arguments: { message: 'x' }, _meta: { progressToken: { hidden: 'AKIAABCDEFGHIJKLMNOP' } } });
  t.notMatch(JSON.stringify(token.body), /AKIA|hidden/);
});
