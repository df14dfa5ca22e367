/**
 * When `portcullis connect` cannot reach the gateway it says why, in one
 * short line on stderr, and the client's request fails with the same
 * reason: no client certificate, a revoked one (the gateway's 401 names it), an expired one, the gateway
 * down, a token the gateway refuses. Each case runs the real CLI as a stdio
 * client would launch it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Agent, request } from 'undici';
import { identityListFile } from '../gateway/config/pki-files.js';
import { ERRORS } from '../gateway/errors.js';
import { issueAgent, revoke } from '../gateway/pki/store.js';
import { cliCommand, eventually, freePort, writeIdentity } from './fixtures/bridge-harness.js';
import { startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

interface Attempt {
  /** The message the client's initialize failed with, or 'connected'. */
  outcome: string;
  stderr: string;
}

/** Launches `portcullis connect <args>` over stdio and tries to initialize through it. */
async function tryConnect(t: Test, args: string[]): Promise<Attempt> {
  const cli = cliCommand(['connect', ...args]);
  const transport = new StdioClientTransport({ command: cli.command, args: cli.args, env: cli.env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = new Client({ name: 'failing', version: '1.0.0' });
  t.teardown(() => client.close());
  const outcome = await client.connect(transport).then(
    () => 'connected',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  await eventually(() => stderr.includes('\n'));
  return { outcome, stderr };
}

t.test('each reason the gateway cannot be reached, said on stderr', async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bridge-failures-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const g = await startTestGateway(t);
  const url = `${g.gateway.url}/mcp/everything`;
  const files = writeIdentity(g, work, 'demo');

  await t.test('no client certificate', async (t) => {
    const token = path.join(work, 'token');
    writeFileSync(token, 'not-a-certificate\n');
    const attempt = await tryConnect(t, [url, '--token-file', token, '--ca', files.ca]);
    // Refused in the TLS handshake (an mTLS-only listener) or with a 401 (a listener that also takes tokens).
    const reason = /(?:the gateway requires a client certificate \(--agent, or --cert and --key\)|the gateway refused the identity: client certificate required)/;
    t.match(attempt.stderr, new RegExp(`^portcullis connect: ${reason.source}\n$`));
    t.match(attempt.outcome, new RegExp(`${ERRORS.gatewayUnreachable.message}: ${reason.source}$`));
  });

  await t.test('a revoked certificate', async (t) => {
    const revoked = writeIdentity(g, mkdtempSync(path.join(work, 'revoked-')), 'revoked-agent');
    revoke(g.pki, 'revoked-agent', { list: identityListFile(g.config), trustDomain: TRUST_DOMAIN });
    // The gateway watches its revocation lists: wait until it answers the certificate with the reason.
    const refusedAsRevoked = async (): Promise<boolean> => {
      const dispatcher = new Agent({ connect: { ca: g.ca, cert: readFileSync(revoked.cert), key: readFileSync(revoked.key) } });
      try {
        const answer = await request(url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: '{}' });
        const body = await answer.body.text();
        // ... and closes the connection after it.
        return answer.statusCode === 401 && body.includes(`${ERRORS.unauthenticated.message}: certificate revoked`) && answer.headers.connection === 'close';
      } finally {
        await dispatcher.close();
      }
    };
    t.ok(await eventually(refusedAsRevoked), 'the gateway answers the revoked certificate with 401 and the reason');
    const attempt = await tryConnect(t, [url, '--cert', revoked.cert, '--key', revoked.key, '--ca', files.ca]);
    t.equal(attempt.stderr, 'portcullis connect: the gateway refused the identity: certificate revoked\n');
    t.match(attempt.outcome, /revoked/);
  });

  await t.test('an expired certificate', async (t) => {
    const day = 24 * 3600 * 1000;
    const expired = issueAgent(g.pki, TRUST_DOMAIN, 'expired-agent', { notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) });
    const attempt = await tryConnect(t, [url, '--cert', expired.cert, '--key', expired.key, '--ca', files.ca]);
    t.match(attempt.stderr, /^portcullis connect: the client certificate expired on \d{4}-\d\d-\d\dT[\d:.]+Z \(.*expired-agent\.pem\)\n$/);
    t.not(attempt.outcome, 'connected');
  });

  await t.test('the gateway down', async (t) => {
    const port = await freePort();
    const attempt = await tryConnect(t, [`https://127.0.0.1:${port}/mcp`, '--cert', files.cert, '--key', files.key, '--ca', files.ca]);
    t.equal(attempt.stderr, `portcullis connect: gateway down: nothing listens at 127.0.0.1:${port}\n`);
    t.match(attempt.outcome, /gateway down/);
  });

  await t.test('a token the gateway refuses', async (t) => {
    const jwt = await startTestGateway(t, { listen: { auth: 'jwt' } });
    const ca = path.join(work, 'jwt-ca.pem');
    writeFileSync(ca, jwt.ca);
    const token = path.join(work, 'bad-token');
    writeFileSync(token, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIn0.\n');
    const attempt = await tryConnect(t, [`${jwt.gateway.url}/mcp/everything`, '--token-file', token, '--ca', ca]);
    t.match(attempt.stderr, /^portcullis connect: the gateway refused the identity: [^\n]+\n$/);
    t.match(attempt.outcome, new RegExp(`${ERRORS.gatewayUnreachable.message}: the gateway refused the identity: `));
  });
});
