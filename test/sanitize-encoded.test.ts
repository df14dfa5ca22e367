/**
 * Encoded, invisibly split and generic secrets are found by the one detector
 * library wherever it is used: tool results, upstream error messages, log
 * lines and the audit trail's stored arguments; the whole encoded run is
 * replaced in the original text.
 */
import t, { type Test } from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { AuditLog } from '../gateway/audit/writer.js';
import { createCheckpointSigner } from '../gateway/audit/checkpoint.js';
import { maskResult } from '../gateway/pipeline/mask-result.js';
import { errorOutcome } from '../gateway/pipeline/run.js';
import type { MessageContext } from '../gateway/pipeline/context.js';
import { redactSecrets, sanitizeText, secretKinds, type Findings } from '../gateway/sanitize/index.js';
import { sanitizeLogLine } from '../gateway/sanitize/pino.js';
import { auditConfig, decisionEvent, ecKeys, tempDir } from './audit-support.js';
import { HIDDEN_SECRETS } from './sanitize-cases.js';

function assertMasked(t: Test, where: string, name: string, out: string, leaks: readonly string[]): void {
  for (const leak of leaks) t.notOk(out.includes(leak), `${where}, ${name}: no ${JSON.stringify(leak.slice(0, 12))}...`);
  t.match(out, /\[REDACTED:[a-z-]+\]/, `${where}, ${name}: marker present`);
}

t.test('tool results: the secret is masked, the rest of the text stays as sent', async (t) => {
  for (const { name, text, leaks } of HIDDEN_SECRETS) {
    const { value, found } = maskResult({ content: [{ type: 'text', text }] }, ['secrets']);
    assertMasked(t, 'result', name, value.content[0]?.text ?? '', leaks);
    t.ok(Object.keys(found).length > 0, `result, ${name}: counted`);
  }
});

t.test('upstream error messages', async (t) => {
  let reported: Findings = {};
  // Only what errorOutcome reads of a context.
  const ctx = {
    route: { kind: 'upstream', server: 'probe', tool: 'fail' },
    services: { enforcement: { redacted: (e: { found: Findings }) => (reported = e.found) } },
  } as unknown as MessageContext;
  for (const { name, text, leaks } of HIDDEN_SECRETS) {
    reported = {};
    const outcome = errorOutcome(new McpError(-32010, `backend said: ${text}`, { detail: text }), ctx);
    t.equal(outcome.kind, 'error');
    const body = outcome.kind === 'error' ? outcome.error : undefined;
    assertMasked(t, 'error message', name, body?.message ?? '', leaks);
    assertMasked(t, 'error data', name, JSON.stringify(body?.data), leaks);
    t.ok(Object.keys(reported).length > 0, `error, ${name}: reported`);
  }
});

t.test('log lines, JSON or plain text', async (t) => {
  for (const { name, text, leaks } of HIDDEN_SECRETS) {
    const json = sanitizeLogLine(`${JSON.stringify({ level: 30, msg: 'upstream said', detail: text })}\n`);
    assertMasked(t, 'JSON log line', name, JSON.parse(json).detail as string, leaks);
    assertMasked(t, 'text log line', name, sanitizeLogLine(`upstream said ${text}\n`), leaks);
  }
});

t.test('the audit record stores the arguments with the secret masked', async (t) => {
  const dir = tempDir(t);
  const keys = ecKeys();
  const log = await AuditLog.open({ config: auditConfig(dir), signer: await createCheckpointSigner(keys.privateKey) });
  for (const [i, { text }] of HIDDEN_SECRETS.entries()) {
    await log.record(decisionEvent(i + 1, { arguments: { name: text, nested: [{ note: text }] } }));
  }
  await log.close();
  const records = readdirSync(dir)
    .flatMap((file) => readFileSync(path.join(dir, file), 'utf8').split('\n'))
    .filter((line) => line.includes('"type":"decision"'))
    .map((line) => JSON.parse(line) as { arguments: { name: string; nested: [{ note: string }] }; redactions?: Findings });
  t.equal(records.length, HIDDEN_SECRETS.length);
  for (const [i, { name, leaks }] of HIDDEN_SECRETS.entries()) {
    const record = records[i];
    assertMasked(t, 'audit arguments', name, record?.arguments.name ?? '', leaks);
    assertMasked(t, 'audit nested arguments', name, record?.arguments.nested[0].note ?? '', leaks);
    t.ok(Object.keys(record?.redactions ?? {}).length > 0, `audit, ${name}: the record says what was taken out`);
  }
});

t.test('the secret kinds a policy is told about', async (t) => {
  for (const { name, text } of HIDDEN_SECRETS) {
    t.not(secretKinds({ prompt: text }).length, 0, `${name}: found`);
  }
  t.same(secretKinds({ a: 'AKIA' + 'IOSFODNN7EXAMPLE', b: ['password=hunter2hunter2'], c: { d: 'ghp_' + 'x'.repeat(36) } }), ['aws-access-key', 'generic-credential', 'github-token'], 'sorted, each once');
  t.same(secretKinds({ db_password: 'Tr0ub4dor&3x' }), ['generic-credential'], 'a JSON key that names a credential');
  t.same(secretKinds({ password: 'x' }), ['sensitive-field'], 'a value under a secret key is a secret');
  t.same(secretKinds({ prompt: 'summarise the report', maxTokens: 10, nested: [1, null, true] }), []);
  t.same(secretKinds({ pad: 'x'.repeat(100_000) + ' AKIA' + 'IOSFODNN7EXAMPLE' }), ['aws-access-key'], 'no length cap hides a secret');
});

t.test('the whole encoded run is replaced, the text around it kept', async (t) => {
  const b64 = Buffer.from('token ghp_' + 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zC1234').toString('base64');
  t.equal(redactSecrets(`payload ${b64} end`, {}), 'payload [REDACTED:github-token] end');
  const pct = encodeURIComponent('-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----');
  t.equal(redactSecrets(`https://x.example.com/?k=${pct}&v=1`, {}), 'https://x.example.com/?k=[REDACTED:pem-private-key]&v=1');
  t.equal(redactSecrets('a g\u200bh\u200bp_' + 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zC1234 b', {}), 'a [REDACTED:github-token] b');
  t.equal(sanitizeText('url?password=hunter2hunter2&x=1'), 'url?password=[REDACTED:generic-credential]&x=1');
  const found: Findings = {};
  redactSecrets(`one ${b64} two password=hunter2hunter2`, found);
  t.same(found, { 'github-token': 1, 'generic-credential': 1 });
});

t.test('placeholders and short values are not credentials', async (t) => {
  for (const text of [
    'password=***', 'password=********', 'token: <your-token>', 'api_key=${API_KEY}', 'secret: changeme', 'password=xxxxxxxxxx',
    'token=[REDACTED:github-token]', 'password: {{ .Values.password }}', 'token=abc123', 'PWD=/home/someone/projects',
    'password = process.env.DB_PASSWORD', 'api_key: your-api-key-here', 'client_secret=%CLIENT_SECRET%',
  ]) {
    t.same(secretKinds({ text }), [], text);
  }
});
