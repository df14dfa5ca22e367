/**
 * End to end through a real gateway with the real default policy: a secret
 * in a tools/call's arguments, however it is encoded, is refused for an
 * outbound tool; the same text to an ordinary tool comes back masked; no log
 * line and no audit record holds it.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { configFromObject } from '../gateway/config/load.js';
import { ERRORS } from '../gateway/errors.js';
import { issueAgent, pkiPaths } from '../gateway/pki/store.js';
import { startGateway } from '../gateway/server.js';
import { connectClient, defaultPolicy, EVERYTHING, ROOT, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import { HIDDEN_SECRETS } from './sanitize-cases.js';

const REFUSAL = 'arguments carry a secret to an outbound tool';

t.test('encoded and generic secrets through a real gateway with the default policy', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-outbound-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = configFromObject(
    {
      listen: { port: 0 },
      tls: { dir: 'certs', trust_domain: TRUST_DOMAIN },
      policy: { dir: path.join(ROOT, 'policies') },
      upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } },
      audit: { dir: 'audit' },
      log: { level: 'info' },
    },
    dir,
  );
  const logLines: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const gateway = await startGateway({ config, decider: await defaultPolicy(), logDestination });
  t.teardown(() => gateway.close());
  const pki = pkiPaths(path.join(dir, 'certs'));
  const files = issueAgent(pki, TRUST_DOMAIN, 'demo');
  const tls = { ca: readFileSync(pki.caCert, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
  const agent = await connectClient(t, `${gateway.url}/mcp/everything`, tls);

  await t.test('an outbound tool is refused the call, whatever the encoding', async (t) => {
    // A call the policy lets through waits for a person (the tool is high-risk): end the wait at once, so it fails fast.
    const { holds } = gateway.enforcement;
    const off = holds.onEvent((event) => {
      if (event.type === 'proposed') holds.cancel(event.hold.id, 'the test expected a refusal');
    });
    t.teardown(off);
    for (const { name, text } of HIDDEN_SECRETS) {
      // A URL goes where the tool fetches from (an allowed host), anything else in the file name.
      const args = text.startsWith('https://files.example.com/') ? { name: 'a.gz', data: text } : { name: text, data: 'https://files.example.com/a.txt' };
      const refused = await agent.callTool({ name: 'gzip-file-as-resource', arguments: args }).catch((err: unknown) => err);
      t.ok(refused instanceof McpError, `${name}: refused`);
      t.equal((refused as McpError).code, ERRORS.policyDenied.code, `${name}: by the policy`);
      t.match((refused as McpError).message, REFUSAL, `${name}: because of the secret`);
    }
  });

  await t.test('the same text to an ordinary tool comes back masked', async (t) => {
    for (const { name, text, leaks } of HIDDEN_SECRETS) {
      const result = await agent.callTool({ name: 'echo', arguments: { message: text } });
      const echoed = (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('');
      for (const leak of leaks) t.notOk(echoed.includes(leak), `${name}: result without ${JSON.stringify(leak.slice(0, 12))}...`);
      t.match(echoed, /\[REDACTED:[a-z-]+\]/, `${name}: marker in the result`);
    }
  });

  await t.test('no log line and no audit record holds the secret', async (t) => {
    await gateway.audit?.flush();
    const auditDir = path.join(dir, 'audit');
    const audit = readdirSync(auditDir).map((file) => readFileSync(path.join(auditDir, file), 'utf8')).join('\n');
    const decisions = audit.split('\n').filter((line) => line.includes('"type":"decision"') && line.includes('"tools/call"'));
    t.ok(decisions.length >= HIDDEN_SECRETS.length * 2, 'every call was audited');
    const logs = logLines.join('');
    for (const { name, leaks } of HIDDEN_SECRETS) {
      for (const leak of leaks) {
        // The records are JSON: compare against the text as JSON would escape it too.
        const escaped = JSON.stringify(leak).slice(1, -1);
        t.notOk(audit.includes(leak) || audit.includes(escaped), `${name}: audit without ${JSON.stringify(leak.slice(0, 12))}...`);
        t.notOk(logs.includes(leak) || logs.includes(escaped), `${name}: logs without ${JSON.stringify(leak.slice(0, 12))}...`);
      }
    }
  });
});
