/**
 * Group commit and record version 2: records queued in one event-loop turn
 * share one write, each caller hears back only once its record is in the
 * file, seq order is call order; v 2 lines hash their exact bytes; trails
 * written by the v 1 writer still verify and are continued; the one-pass
 * serialisation sanitizes exactly as redactJson does; and a gateway whose
 * batch cannot be written refuses every call in it without forwarding any.
 */
import t from 'tap';
import { cpSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../gateway/audit/writer.js';
import { createCheckpointSigner, parseVerificationKey } from '../gateway/audit/checkpoint.js';
import { verifyAudit } from '../gateway/audit/verify.js';
import type { AuditReceipt, DecisionEvent } from '../gateway/audit/events.js';
import { redactJson } from '../gateway/sanitize/json.js';
import { ERRORS } from '../gateway/errors.js';
import { auditConfig, decisionEvent, ecKeys, outcomeEvent, readLinesOf, rechain, tempDir, writeLinesTo } from './audit-support.js';
import { connectClient, policyWithGrants, ROOT, startTestGateway } from './fixtures/gateway-harness.js';

const keys = ecKeys();
const signer = await createCheckpointSigner(keys.privateKey);
const V1_TRAIL = path.join(ROOT, 'test/fixtures/audit-v1');

const onlyFile = (dir: string): string => path.join(dir, readdirSync(dir).find((n) => n.endsWith('.jsonl')) as string);

t.test('records queued in one turn: one batch, seq in call order, each in the file before its caller hears back', async (t) => {
  const dir = tempDir(t);
  const batches: number[] = [];
  const log = await AuditLog.open({ config: auditConfig(dir), signer, observer: { recordsWritten: (n) => void batches.push(n), writeFailed: () => undefined } });
  const file = onlyFile(dir);
  const inFileWhenAnswered: boolean[] = [];
  const pending: Promise<AuditReceipt>[] = [];
  for (let i = 1; i <= 60; i++) {
    for (const event of [decisionEvent(i), outcomeEvent(i)]) {
      pending.push(
        log.record(event).then((receipt) => {
          inFileWhenAnswered.push(readFileSync(file, 'utf8').includes(`"seq":${receipt.seq},`));
          return receipt;
        }),
      );
    }
  }
  const receipts = await Promise.all(pending);
  t.same(batches, [120], 'one write for the 120 records of the turn');
  t.same(receipts.map((r) => r.seq), Array.from({ length: 120 }, (_, i) => i + 1), 'seq in the order the callers asked');
  t.equal(inFileWhenAnswered.filter(Boolean).length, 120, 'every record was in the file when its caller heard back');
  const lines = readLinesOf(file);
  t.same(lines.map((l) => (JSON.parse(l) as { hash: string }).hash), receipts.map((r) => r.hash), 'each receipt names its line');
  // A record queued later in the same turn (after other callers' awaits) still joins the batch.
  const second = [log.record(decisionEvent(61))];
  await Promise.resolve();
  second.push(log.record(outcomeEvent(61)), log.record(decisionEvent(62)));
  t.same((await Promise.all(second)).map((r) => r.seq), [121, 122, 123]);
  t.same(batches, [120, 3]);
  await log.close();
  t.match(await verifyAudit(dir, { publicKey: keys.publicKey }), { ok: true, lastSeq: 124 });
});

t.test('a v 2 hash covers the exact bytes of its line', async (t) => {
  const dir = tempDir(t);
  const log = await AuditLog.open({ config: auditConfig(dir), signer });
  await Promise.all([1, 2, 3].map((i) => log.record(decisionEvent(i))));
  await log.close();
  const file = onlyFile(dir);
  const lines = readLinesOf(file);
  t.match(JSON.parse(lines[0] as string), { v: 2, seq: 1 });
  t.match(await verifyAudit(dir), { ok: true });

  // Same JSON value, other bytes (v 1's canonical hash would not see these).
  const cases: [string, (line: string) => string][] = [
    ['a space added', (l) => l.replace('"seq":2,', '"seq": 2,')],
    ['a character escaped', (l) => l.replace('"method":"tools/call"', '"method":"tools\\/call"')],
    ['the hash moved first', (l) => {
      const record = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify({ hash: record.hash, ...record });
    }],
  ];
  for (const [name, edit] of cases) {
    const copy = tempDir(t);
    const edited = [...lines];
    edited[1] = edit(edited[1] as string);
    t.not(edited[1], lines[1], `${name}: line changed`);
    writeLinesTo(path.join(copy, path.basename(file)), edited);
    t.match((await verifyAudit(copy)).problem, { kind: 'edited', line: 2, seq: 2 }, name);
  }
});

t.test('a trail written by the v 1 writer verifies, and the gateway continues its chain in v 2', async (t) => {
  const publicKey = parseVerificationKey(readFileSync(path.join(V1_TRAIL, 'gateway.jwk'), 'utf8'));
  const dir = tempDir(t);
  cpSync(V1_TRAIL, dir, { recursive: true, filter: (src) => !src.endsWith('.jwk') });
  const before = await verifyAudit(dir, { publicKey });
  t.match(before, { ok: true, records: 16, checkpoints: 3, signaturesChecked: true, lastSeq: 16 });

  // The gateway's key changed with the upgrade: the new checkpoints are signed with it.
  const log = await AuditLog.open({ config: auditConfig(dir), signer });
  await log.record(decisionEvent(100));
  await log.close();
  const lines = readLinesOf(onlyFile(dir)).map((l) => JSON.parse(l) as { v: number; seq: number; type: string });
  t.same(lines.map((r) => r.v), [...Array<number>(16).fill(1), 2, 2], 'v 1 records, then v 2');
  t.match(await verifyAudit(dir), { ok: true, records: 18, lastSeq: 18 }, 'the chain runs across the versions');

  // A v 1 record edited, or edited and re-hashed, is still named.
  const original = readLinesOf(onlyFile(dir));
  const edited = original.map((l, i) => (i === 2 ? l.replace('"hello 2"', '"hello 3"') : l));
  t.not(edited[2], original[2]);
  writeLinesTo(onlyFile(dir), edited);
  t.match((await verifyAudit(dir)).problem, { kind: 'edited', line: 3, seq: 3 });
  writeLinesTo(onlyFile(dir), rechain(edited, 2));
  t.match((await verifyAudit(dir, { publicKey })).problem, { kind: 'bad-signature', line: 6 }, 're-hashed v 1: the next checkpoint fails');
});

t.test('serialised in one pass, a record says what redactJson says about the same event', async (t) => {
  const dir = tempDir(t);
  const log = await AuditLog.open({ config: auditConfig(dir, { max_field_length: 64 }), signer });
  const github = `ghp_${'R'.repeat(36)}`;
  const event: DecisionEvent & { extension: unknown } = {
    ...decisionEvent(1),
    agent: { id: `spiffe://test/agent/evil\u2028\x1b[2J${github}`, auth: 'jwt' },
    tool: 'bidi\u202egnp.exe',
    reasons: [`denied ${github}`, 'x'.repeat(200), `denied ${github}`],
    latency_ms: { decision: Number.NaN },
    // A member outside the schema's fixed ones: keys and secret-named keys are redacted too.
    extension: { claims: { token: 'not-a-secret-looking-value', 'k\u202ey': 1 } },
  };
  const receipts = [await log.record(event), await log.record(event)];
  await log.close();
  const [first, second] = readLinesOf(onlyFile(dir)).map((l) => JSON.parse(l) as Record<string, unknown>);
  const { type: _type, arguments: args, redact: _redact, ...fields } = event;
  const expected = redactJson(fields, { maxLength: 64 });
  const storedArgs = redactJson(args, { maxLength: 64 });
  const strip = (record: Record<string, unknown> | undefined): Record<string, unknown> => {
    const { v: _v, seq: _seq, ts: _ts, type: _t, prev: _p, hash: _h, args_digest: _d, arguments: _a, redactions: _r, ...rest } = record ?? {};
    return rest;
  };
  t.same(strip(first), expected.value, 'the same fields, sanitized the same way');
  t.same(strip(second), expected.value, 'and again from remembered strings');
  t.same(first?.arguments, storedArgs.value);
  const total: Record<string, number> = { ...expected.found };
  for (const [kind, n] of Object.entries(storedArgs.found)) total[kind] = (total[kind] ?? 0) + n;
  t.same(receipts[0]?.redactions, total, 'the receipt counts what was found');
  t.same(receipts[1]?.redactions, total, 'remembered strings count their findings again');
});

t.test('a gateway whose audit batch cannot be written refuses every call in it and forwards none', async (t) => {
  const work = tempDir(t);
  const recording = path.join(work, 'upstream.jsonl');
  writeFileSync(recording, '');
  const recorder = path.join(ROOT, 'test/fixtures/recording-server.mjs');
  const g = await startTestGateway(
    t,
    {
      // Every batch rotates to a new file, so each write needs the folder.
      audit: { dir: 'audit', rotate_seconds: 0.001, retry_seconds: 3600 },
      upstreams: { recording: { stdio: { command: 'node', args: [recorder, recording] } } },
    },
    await policyWithGrants(t, { demo: ['recording'] }),
  );
  const client = await connectClient(t, `${g.gateway.url}/mcp/recording`, { ca: g.ca, ...g.issue('demo') });
  t.match(JSON.stringify(await client.callTool({ name: 'echo', arguments: { text: 'before' } })), /before/);
  const auditDir = path.join(g.dir, 'audit');
  renameSync(auditDir, `${auditDir}.moved`);
  writeFileSync(auditDir, 'not a folder');
  const texts = Array.from({ length: 8 }, (_, i) => `during-${i}`);
  const answers = await Promise.allSettled(texts.map((text) => client.callTool({ name: 'echo', arguments: { text } })));
  t.same(
    answers.map((a) => (a.status === 'rejected' ? (a.reason as { code?: number }).code : 'answered')),
    texts.map(() => ERRORS.auditUnavailable.code),
    'all 8 concurrent calls refused',
  );
  const sent = readFileSync(recording, 'utf8');
  t.match(sent, /before/);
  for (const text of texts) t.notOk(sent.includes(text), `${text} never reached the upstream`);
  t.equal(g.gateway.audit?.available, false, 'the trail stays failed closed');
});
