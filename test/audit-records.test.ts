import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../gateway/audit/writer.js';
import { createCheckpointSigner } from '../gateway/audit/checkpoint.js';
import { argumentsDigest } from '../gateway/audit/chain.js';
import { verifyAudit } from '../gateway/audit/verify.js';
import { queryAudit } from '../gateway/audit/query.js';
import { run } from '../gateway/cli/audit.js';
import { auditConfig, decisionEvent, ecKeys, outcomeEvent, readLinesOf, tempDir, withDeadline } from './audit-support.js';

const keys = ecKeys();
const signer = await createCheckpointSigner(keys.privateKey);
const RAW = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f]/;
const SECRETS = {
  aws: 'AKIA' + 'IOSFODNN7EXAMPLE',
  github: 'ghp_' + 'R'.repeat(36),
  slack: 'xoxb-' + '1234567890-abcdefghijkl',
  stripe: 'sk_' + 'live_' + 'S'.repeat(24),
  google: 'AIza' + 'G'.repeat(35),
  openai: 'sk-' + 'proj-' + 'O'.repeat(40),
  anthropic: 'sk-' + 'ant-api03-' + 'A'.repeat(40),
  jwt: 'eyJhbGciOiJIUzI1NiJ9.' + 'eyJzdWIiOiJ4In0.' + 'J'.repeat(43),
  bearer: 'B'.repeat(32),
  urlPassword: 'pa55w0rd-in-url',
};

/** Every key and string value of a parsed JSON value, decoded, joined. */
function decodedStrings(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return '';
  return Object.entries(value).map(([k, v]) => `${k} ${decodedStrings(v)}`).join(' ');
}

t.test('hostile strings and secrets never reach an audit record raw; the digest covers the raw arguments', async (t) => {
  const dir = tempDir(t);
  const log = await AuditLog.open({ config: auditConfig(dir), signer });
  const args = {
    command: `ls\r\n{"v":1,"seq":99,"type":"decision","decision":"allow"}\u2028\x1b[2J\u202etxt.exe`,
    env: `AWS=${SECRETS.aws} GH=${SECRETS.github} SLACK=${SECRETS.slack} STRIPE=${SECRETS.stripe} GOOGLE=${SECRETS.google}`,
    keys: [SECRETS.openai, SECRETS.anthropic, SECRETS.jwt],
    headers: { Authorization: `Bearer ${SECRETS.bearer}` },
    url: `https://admin:${SECRETS.urlPassword}@example.com/`,
  };
  const receipt = await log.record(
    decisionEvent(1, {
      agent: { id: 'spiffe://test/agent/evil\u2028x', cert_serial: '01' },
      arguments: args,
      reasons: [`denied \x1b[31mred ${SECRETS.github}`],
      decision: 'deny',
    }),
  );
  await log.record(outcomeEvent(1, { outcome: 'error', error: { code: -32000, message: `upstream leaked ${SECRETS.aws}\r\nforged` } }));
  await log.close();
  // The receipt counts everything (arguments, reasons, agent id); the record lists what left the arguments.
  t.match(receipt.redactions, { 'aws-access-key': 1, 'github-token': 2, 'authorization-header': 1, 'ansi-escape': 2, 'bidi-control': 1, 'line-break': 3 });

  const text = readFileSync(path.join(dir, readdirSync(dir)[0] as string), 'utf8');
  for (const secret of Object.values(SECRETS)) t.notOk(text.includes(secret), `no raw ${secret.slice(0, 8)}...`);
  const lines = readLinesOf(path.join(dir, readdirSync(dir)[0] as string));
  t.equal(lines.length, 3, 'decision, outcome, checkpoint: no forged line');
  for (const line of lines) t.notMatch(decodedStrings(JSON.parse(line)), RAW);
  const decision = JSON.parse(lines[0] as string) as Record<string, unknown>;
  t.equal(decision.args_digest, argumentsDigest(args));
  t.match(decision.redactions, { 'github-token': 1, 'ansi-escape': 1, 'line-break': 2 });
  t.match(decision, {
    agent: { id: 'spiffe://test/agent/evil\\u2028x' },
    reasons: ['denied red [REDACTED:github-token]'],
    arguments: { headers: { Authorization: '[REDACTED:authorization-header]' }, url: 'https://admin:[REDACTED:url-password]@example.com/' },
  });
  t.match(JSON.parse(lines[1] as string), { error: { message: 'upstream leaked [REDACTED:aws-access-key]\\u000d\\u000aforged' } });
  t.match(await verifyAudit(dir, { publicKey: keys.publicKey }), { ok: true });
});

t.test('argument digest: SHA-256 of the RFC 8785 canonical form, independent of key order', async (t) => {
  const canonical = '{"a":[1,"x",{"c":null,"d":1e+21}],"b":"é"}';
  const expected = `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
  t.equal(argumentsDigest({ b: 'é', a: [1, 'x', { d: 1e21, c: null }] }), expected);
  t.equal(argumentsDigest({ a: [1, 'x', { c: null, d: 1e21 }], b: 'é' }), expected);
});

t.test("the policy's redact list applies to stored arguments", async (t) => {
  const dir = tempDir(t);
  const log = await AuditLog.open({ config: auditConfig(dir), signer });
  await log.record(decisionEvent(1, { arguments: { to: 'carol@example.com', body: 'x', ssn: '123' }, redact: ['$.ssn', 'email'] }));
  await log.close();
  const [first] = readLinesOf(path.join(dir, readdirSync(dir)[0] as string));
  t.match(JSON.parse(first as string), {
    arguments: { to: '[REDACTED:email]', body: 'x', ssn: '[REDACTED:policy-path]' },
    redactions: { email: 1, 'policy-path': 1 },
  });
});

t.test('query filters by agent, server, tool, decision, type and time; the CLI prints JSON lines', async (t) => {
  const dir = tempDir(t);
  let now = Date.parse('2026-01-01T00:00:00Z');
  const log = await AuditLog.open({ config: auditConfig(dir), signer, now: () => now });
  for (let i = 1; i <= 12; i++) {
    now += 60_000;
    await log.record(decisionEvent(i));
  }
  await log.close();
  const all = async (filter: Parameters<typeof queryAudit>[1]): Promise<number[]> => {
    const seqs: number[] = [];
    for await (const r of queryAudit(dir, filter)) seqs.push(r.seq);
    return seqs;
  };
  t.same(await all({ decision: 'deny' }), [4, 8, 12]);
  t.same(await all({ server: 'fs', tool: 'read_file' }), [3, 6, 9, 12]);
  t.same(await all({ agent: 'spiffe://test/agent/bob' }), [1, 3, 5, 7, 9, 11]);
  t.same(await all({ type: 'checkpoint' }), [13]);
  t.same(await all({ since: Date.parse('2026-01-01T00:05:00Z'), until: Date.parse('2026-01-01T00:07:00Z') }), [5, 6, 7]);

  let out = '';
  const io = { out: (s: string) => (out += s), err: () => undefined };
  t.equal(await run(['query', dir, '--decision', 'deny', '--server', 'fs', '--limit', '5'], io), 0);
  t.same(out.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq), [12]);
  out = '';
  t.equal(await run(['query', dir, '--since', '2026-01-01T00:11:00Z', '--type', 'decision'], io), 0);
  t.same(out.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq), [11, 12]);
});

t.test('checkpoints by time, rotation by age, and every fsync policy keep a verifiable chain', async (t) => {
  for (const fsync of ['always', 'interval', 'never'] as const) {
    const dir = tempDir(t);
    let now = Date.now();
    let written = 0;
    let onWrite: (() => void) | undefined;
    const log = await AuditLog.open({
      config: auditConfig(dir, { fsync, fsync_interval_ms: 20, checkpoint_seconds: 0.02, rotate_seconds: 3600 }),
      signer,
      now: () => now,
      observer: {
        recordsWritten: (n) => {
          written += n;
          onWrite?.();
        },
        writeFailed: () => t.fail('no write failure expected'),
      },
    });
    await log.record(decisionEvent(1));
    // The checkpoint timer signs the unsigned record without any further traffic.
    const signed = new Promise<void>((resolve) => {
      onWrite = () => written >= 2 && resolve();
      onWrite();
    });
    await withDeadline(signed, 5000, 'the timed checkpoint');
    now += 3600 * 1000;
    await log.record(decisionEvent(2));
    await log.close();
    const files = readdirSync(dir).sort();
    t.same(files, ['audit-000000000001.jsonl', 'audit-000000000003.jsonl'], `${fsync}: rotated by age`);
    t.match(JSON.parse(readLinesOf(path.join(dir, files[0] as string))[1] as string), { type: 'checkpoint', seq: 2 });
    t.match(await verifyAudit(dir, { publicKey: keys.publicKey }), { ok: true, records: 4 }, `${fsync}: verifies`);
  }
});

t.test('arguments that are not JSON are refused, not guessed at', async (t) => {
  const log = await AuditLog.open({ config: auditConfig(tempDir(t)), signer });
  t.teardown(() => log.close());
  await t.rejects(log.record(decisionEvent(1, { arguments: { n: Infinity } })), { name: 'TypeError', message: 'audit: the call arguments are not JSON' });
  t.equal(log.available, true, 'the log itself is fine');
  t.equal((await log.record(decisionEvent(2))).seq, 1);
});

t.test('a closed log refuses records and the check fails', async (t) => {
  const log = await AuditLog.open({ config: auditConfig(tempDir(t)), signer });
  await log.close();
  t.throws(() => log.check(), { name: 'AuditUnavailableError', code: 'AUDIT_UNAVAILABLE' });
  await t.rejects(log.record(decisionEvent(1)), { name: 'AuditUnavailableError' });
  t.equal(log.available, false);
});
