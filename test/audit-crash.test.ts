import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditLog, AuditUnavailableError } from '../gateway/audit/writer.js';
import { createCheckpointSigner } from '../gateway/audit/checkpoint.js';
import { verifyAudit } from '../gateway/audit/verify.js';
import { queryAudit } from '../gateway/audit/query.js';
import { auditConfig, decisionEvent, ecKeys, readLinesOf, tempDir } from './audit-support.js';

const child = fileURLToPath(new URL('./audit-child-writer.ts', import.meta.url));
const keys = ecKeys();

function keyFile(dir: string): string {
  const file = path.join(dir, 'key.pem');
  writeFileSync(file, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return file;
}

interface Child {
  lines: string[];
  /** Resolves when `predicate` holds for the lines seen so far (checked on each new line). */
  until(predicate: (lines: string[]) => boolean): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs the child writer under the same TypeScript loader as this test; `ulimitKb` caps file size. */
function startWriter(t: Test, dir: string, mode: string, ulimitKb?: number): Child {
  // Only the TypeScript loader, and NODE_OPTIONS unset: tap's process-info hook (injected into
  // every child) writes files of its own, which the size limit would break.
  const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'));
  const node = [process.execPath, ...loader, child, dir, keyFile(path.dirname(dir)), mode];
  // SIGXFSZ ignored so a write past the limit fails with EFBIG, as a full disk fails with ENOSPC.
  const limit = ulimitKb === undefined ? '' : `trap '' XFSZ && ulimit -f ${ulimitKb} && `;
  const proc = spawn('bash', ['-c', `unset NODE_OPTIONS && ${limit}exec "$@"`, 'bash', ...node], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: { predicate: (l: string[]) => boolean; resolve: () => void }[] = [];
  let buffered = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.splice(0)) (w.predicate(lines) ? w.resolve() : waiters.push(w));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return {
    lines,
    until: (predicate) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(lines)) return resolve();
        waiters.push({ predicate, resolve });
        void exited.then(() => (predicate(lines) ? resolve() : reject(new Error(`child exited; output: ${lines.slice(-5).join(' | ')}`))));
      }),
    exited,
    kill: (signal) => proc.kill(signal),
  };
}

const acks = (lines: string[]): number[] => lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));

async function allSeqs(dir: string): Promise<Set<number>> {
  const seqs = new Set<number>();
  for await (const record of queryAudit(dir, {})) seqs.add(record.seq);
  return seqs;
}

t.test('SIGKILL under load (32 callers, decisions and outcomes): restart recovers, verify passes, every acknowledged record is there', async (t) => {
  const dir = path.join(tempDir(t), 'audit');
  const writer = startWriter(t, dir, 'load');
  await writer.until((lines) => acks(lines).length >= 400);
  writer.kill('SIGKILL');
  t.match(await writer.exited, { signal: 'SIGKILL' });
  const acked = acks(writer.lines);
  t.equal(new Set(acked).size, acked.length, 'no seq acknowledged twice');

  const log = await AuditLog.open({ config: auditConfig(dir), signer: await createCheckpointSigner(keys.privateKey) });
  await log.record(decisionEvent(100_000));
  await log.close();
  const report = await verifyAudit(dir, { publicKey: keys.publicKey });
  t.match(report, { ok: true, signaturesChecked: true }, 'verify passes after restart');
  t.ok(report.checkpoints >= 8, `checkpoints every 50 records (${report.checkpoints})`);
  const onDisk = await allSeqs(dir);
  t.same(acked.filter((seq) => !onDisk.has(seq)), [], `all ${acked.length} acknowledged records survived`);
});

t.test('a torn last line is sealed with a recovery record and the chain carries on', async (t) => {
  const dir = tempDir(t);
  const signer = await createCheckpointSigner(keys.privateKey);
  const first = await AuditLog.open({ config: auditConfig(dir), signer });
  for (let i = 1; i <= 5; i++) await first.record(decisionEvent(i));
  await first.close();
  const [name] = readdirSync(dir);
  const file = path.join(dir, name as string);
  // A crash mid-write: half a record, cut inside a multi-byte character.
  appendFileSync(file, Buffer.concat([Buffer.from('{"v":1,"seq":7,"ts":"2026-'), Buffer.from([0xe2, 0x82])]));

  const before = await verifyAudit(dir, { publicKey: keys.publicKey });
  t.match(before, { ok: true, recovered: 0 });
  t.match(before.warnings, [/torn last record/]);

  const second = await AuditLog.open({ config: auditConfig(dir), signer });
  const receipt = await second.record(decisionEvent(6));
  await second.close();
  const lines = readLinesOf(file);
  // Lines: seq 1-5, checkpoint 6 (at close), the torn line, recovery 7 sealing it, the new record 8, checkpoint 9.
  t.equal(lines.length, 10);
  t.match(JSON.parse(lines[7] as string), { seq: 7, type: 'recovery', partial: { bytes: 28 } });
  t.match(await verifyAudit(dir, { publicKey: keys.publicKey }), { ok: true, recovered: 1, warnings: [] });
  t.equal(receipt.seq, 8);

  // Garbage that no recovery record seals is still an error.
  const lines2 = [...lines];
  lines2.splice(3, 0, '{"v":1,"seq":');
  writeFileSync(file, lines2.map((l) => `${l}\n`).join(''));
  t.match((await verifyAudit(dir)).problem, { kind: 'malformed', line: 4 });
});

t.test('disk full (file size limit): calls are refused, then recovery and verify pass', async (t) => {
  const dir = path.join(tempDir(t), 'audit');
  const writer = startWriter(t, dir, 'fill', 24);
  await writer.exited;
  t.ok(acks(writer.lines).length > 10, 'wrote until the limit');
  t.ok(writer.lines.includes('write-failed'), 'metrics observer told');
  t.equal(writer.lines.filter((l) => l === 'refused AUDIT_UNAVAILABLE EFBIG').length, 16, 'every caller is refused with the reason');
  t.ok(writer.lines.includes('check-throws true'), 'check() fails closed');
  t.ok(writer.lines.includes('available false'));

  const acked = acks(writer.lines);
  const log = await AuditLog.open({ config: auditConfig(dir), signer: await createCheckpointSigner(keys.privateKey) });
  await log.close();
  t.match(await verifyAudit(dir, { publicKey: keys.publicKey }), { ok: true });
  const onDisk = await allSeqs(dir);
  t.same(acked.filter((seq) => !onDisk.has(seq)), []);
});

t.test('a closed file descriptor fails closed until the periodic reopen succeeds', async (t) => {
  const dir = path.join(tempDir(t), 'audit');
  const writer = startWriter(t, dir, 'closefd');
  t.match(await writer.exited, { code: 0 });
  // The refused record never reached the disk: the reopened log continues the chain at seq 6.
  t.same(writer.lines, ['ack 1', 'ack 2', 'ack 3', 'ack 4', 'ack 5', 'write-failed', 'refused AUDIT_UNAVAILABLE EBADF', 'check-throws true', 'available true', 'ack 6']);
  t.match(await verifyAudit(dir, { publicKey: keys.publicKey }), { ok: true });
});

t.test('a batch that cannot be written fails every caller in it, and nothing of it is acknowledged', async (t) => {
  const dir = path.join(tempDir(t), 'audit');
  const writer = startWriter(t, dir, 'closefd-batch');
  t.match(await writer.exited, { code: 0 });
  t.same(writer.lines[0], 'ack 1');
  t.ok(writer.lines.includes('write-failed'), 'metrics observer told');
  const answers = writer.lines.slice(1).filter((l) => l.startsWith('ack ') || l.startsWith('refused '));
  t.equal(answers.length, 40);
  t.same(new Set(answers), new Set(['refused AUDIT_UNAVAILABLE EBADF']), 'all 40 callers of the batch refused');
  t.equal(writer.lines[writer.lines.length - 1], 'check-throws true', 'the log fails closed');
  const log = await AuditLog.open({ config: auditConfig(dir), signer: await createCheckpointSigner(keys.privateKey) });
  await log.close();
  t.match(await verifyAudit(dir, { publicKey: keys.publicKey }), { ok: true, lastSeq: 2 }, 'the record before it and the closing checkpoint');
});

t.test('an audit folder that cannot be used refuses to open', async (t) => {
  const base = tempDir(t);
  const notADir = path.join(base, 'file');
  writeFileSync(notADir, 'x');
  const signer = await createCheckpointSigner(keys.privateKey);
  await t.rejects(AuditLog.open({ config: auditConfig(notADir), signer }), AuditUnavailableError);
  // A symlinked audit file is never followed (it could point anywhere).
  const dir = path.join(base, 'audit');
  mkdirSync(dir);
  symlinkSync('/dev/null', path.join(dir, 'audit-000000000001.jsonl'));
  await t.rejects(AuditLog.open({ config: auditConfig(dir), signer }), { name: 'AuditUnavailableError', reason: 'ELOOP' });
});
