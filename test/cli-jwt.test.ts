/**
 * The `portcullis certs` and `token` commands, and a JWT listener: an agent
 * with a token from `portcullis token issue` is served; without one, or with
 * a forged one, it is refused with 401.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { run as certs } from '../gateway/cli/certs.js';
import { run as token } from '../gateway/cli/token.js';
import { UsageError } from '../gateway/cli/args.js';
import { createCa } from '../gateway/pki/certs.js';
import { issueToken } from '../gateway/identity/jwt.js';
import { startGateway } from '../gateway/server.js';
import { defaultPolicy, EVERYTHING, tlsFetch } from './fixtures/gateway-harness.js';
import { Agent } from 'undici';

/** Runs a CLI module and returns what it printed. */
async function cli(run: (args: string[]) => Promise<number>, args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await run(args), out: chunks.join('') };
  } finally {
    process.stdout.write = write;
  }
}

t.test('certs and token commands, JWT listener', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    [
      'listen: { port: 0, auth: jwt }',
      'tls: { dir: certs, trust_domain: cli.test }',
      'upstreams:',
      `  everything: { stdio: { command: node, args: [${JSON.stringify(EVERYTHING)}, stdio] } }`,
    ].join('\n'),
  );
  const config = ['--config', configFile];

  const init = await cli(certs, ['init', ...config]);
  t.equal(init.code, 0);
  t.match(init.out, /created CA .*ca\.pem/);
  await t.rejects(cli(certs, ['init', ...config]), /already exists/);
  const issued = await cli(certs, ['issue', 'demo', '--days', '7', ...config]);
  t.match(issued.out, /issued spiffe:\/\/cli\.test\/agent\/demo/);
  t.equal(statSync(path.join(dir, 'certs/agents/demo-key.pem')).mode & 0o777, 0o600);
  await cli(certs, ['issue', 'retired', ...config]);
  // Revoking an agent revokes its certificate and its identity (its tokens): identity-revocation.test.ts.
  t.match((await cli(certs, ['revoke', 'retired', ...config])).out, /revoked serial [0-9a-f]+ .* and spiffe:\/\/cli\.test\/agent\/retired/);
  await t.rejects(cli(certs, ['frobnicate', ...config]), UsageError);
  await t.rejects(cli(token, ['issue', 'demo', '--ttl', '999999999', ...config]), /--ttl must be/);

  const jwt = (await cli(token, ['issue', 'demo', '--ttl', '600', ...config])).out.trim();
  t.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  const gateway = await startGateway({ configFile, decider: await defaultPolicy(), log: () => undefined });
  t.teardown(() => gateway.close());
  const ca = readFileSync(path.join(dir, 'certs/ca.pem'), 'utf8');

  const client = new Client({ name: 'jwt-agent', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/everything`), {
    fetch: tlsFetch(t, { ca }),
    requestInit: { headers: { authorization: `Bearer ${jwt}` } },
  });
  await client.connect(transport);
  t.teardown(() => client.close());
  t.ok((await client.listTools()).tools.some((tool) => tool.name === 'echo'), 'token agent served');

  const dispatcher = new Agent({ connect: { ca } });
  t.teardown(() => dispatcher.close());
  const ping = async (authorization?: string): Promise<number> => {
    const res = await request(`${gateway.url}/mcp/everything`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    await res.body.dump();
    return res.statusCode;
  };
  t.equal(await ping(), 401, 'no token');
  t.equal(await ping('Bearer not.a.token'), 401, 'garbage token');
  const rogue = createCa('cli.test');
  const forged = await issueToken(rogue.keyPem, gateway.config.jwt, 'cli.test', 'demo', 600);
  t.equal(await ping(`Bearer ${forged}`), 401, 'token signed by another key');
});
