import t, { type Test } from 'tap';
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CompactSign } from 'jose';
import { AuditLog } from '../gateway/audit/writer.js';
import { createCheckpointSigner } from '../gateway/audit/checkpoint.js';
import { verifyAudit } from '../gateway/audit/verify.js';
import { run } from '../gateway/cli/audit.js';
import { auditConfig, decisionEvent, ecKeys, outcomeEvent, readLinesOf, rechain, tempDir, writeLinesTo } from './audit-support.js';

const keys = ecKeys();

/** Writes a real log: 30 records (decisions and outcomes), a checkpoint every 5. */
async function writeLog(dir: string): Promise<string> {
  const log = await AuditLog.open({ config: auditConfig(dir, { checkpoint_every: 5 }), signer: await createCheckpointSigner(keys.privateKey) });
  for (let i = 1; i <= 15; i++) {
    await Promise.all([log.record(decisionEvent(i)), log.record(outcomeEvent(i))]);
  }
  await log.close();
  const [file] = readdirSync(dir);
  return path.join(dir, file as string);
}

/** A tampered copy of the pristine log in its own folder. */
function tampered(t: Test, pristine: string, edit: (lines: string[]) => string[]): string {
  const dir = tempDir(t);
  const file = path.join(dir, path.basename(pristine));
  copyFileSync(pristine, file);
  const before = readLinesOf(file);
  const after = edit([...before]);
  t.not(after.join('\n'), before.join('\n'), 'the copy really was changed');
  writeLinesTo(file, after);
  return file;
}

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (s) => (out += s), err: (s) => (err += s) }, out: () => out, err: () => err };
}

t.test('tampering with a real audit file is detected and named', async (t) => {
  const pristine = await writeLog(tempDir(t));
  const keyFile = path.join(tempDir(t), 'gateway.pub.pem');
  writeFileSync(keyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
  const publicKey = keys.publicKey;

  const clean = await verifyAudit(pristine, { publicKey });
  t.match(clean, { ok: true, records: 36, checkpoints: 6, signaturesChecked: true, lastSeq: 36 });
  t.equal(readLinesOf(pristine).length, 36);
  const cli = capture();
  t.equal(await run(['verify', path.dirname(pristine), '--key', keyFile], cli.io), 0);
  t.match(cli.out(), /^OK: 36 records, 6 checkpoints, 1 file\(s\), signatures verified\n$/);
  const json = capture();
  t.equal(await run(['verify', pristine, '--json'], json.io), 0);
  t.match(JSON.parse(json.out()), { ok: true, records: 36, signaturesChecked: false, warnings: [/not checked/] });

  const edited = tampered(t, pristine, (lines) => {
    lines[6] = (lines[6] as string).replace('"call_id":"s1:', '"call_id":"s2:');
    return lines;
  });
  t.match((await verifyAudit(edited, { publicKey })).problem, { kind: 'edited', line: 7, seq: 7 }, 'edited in place');

  const rehashed = tampered(t, pristine, (lines) => {
    lines[6] = (lines[6] as string).replace('"call_id":"s1:', '"call_id":"s2:');
    return rechain(lines, 6).map((l, i) => (i === 6 ? l : (lines[i] as string)));
  });
  t.match((await verifyAudit(rehashed, { publicKey })).problem, { kind: 'edited', line: 7, seq: 7 }, 'edited and re-hashed: named by the broken link');

  const removed = tampered(t, pristine, (lines) => lines.filter((_, i) => i !== 6));
  t.match((await verifyAudit(removed, { publicKey })).problem, { kind: 'removed', line: 7, seq: 8, message: /seq 7\.\.7 are missing/ });

  const inserted = tampered(t, pristine, (lines) => {
    const forged = JSON.parse(lines[7] as string) as Record<string, unknown>;
    forged.tool = 'delete_everything';
    return rechain([...lines.slice(0, 7), JSON.stringify(forged)], 7).concat(lines.slice(7));
  });
  t.match((await verifyAudit(inserted, { publicKey })).problem, { kind: 'inserted', line: 8, seq: 8 });

  const reordered = tampered(t, pristine, (lines) => {
    [lines[6], lines[7]] = [lines[7] as string, lines[6] as string];
    return lines;
  });
  t.match((await verifyAudit(reordered, { publicKey })).problem, { kind: 'reordered', line: 7, seq: 8 });

  const movedLast = tampered(t, pristine, (lines) => [...lines.slice(0, 3), lines[lines.length - 1] as string, ...lines.slice(3, -1)]);
  t.match((await verifyAudit(movedLast, { publicKey })).problem, { kind: 'reordered', line: 4, seq: 36 });

  const truncatedStart = tampered(t, pristine, (lines) => lines.slice(2));
  t.match((await verifyAudit(truncatedStart, { publicKey })).problem, { kind: 'removed', line: 1, seq: 3 });

  const garbage = tampered(t, pristine, (lines) => {
    lines[9] = 'not json at all';
    return lines;
  });
  t.match((await verifyAudit(garbage, { publicKey })).problem, { kind: 'malformed', line: 10 });
});

t.test('forged checkpoints and a fully re-hashed chain fail on the signature', async (t) => {
  const pristine = await writeLog(tempDir(t));
  const publicKey = keys.publicKey;
  const forger = ecKeys();
  const checkpointLine = readLinesOf(pristine).findIndex((l) => l.includes('"type":"checkpoint"'));
  t.equal(checkpointLine, 5, 'first checkpoint after 5 records');

  // The forger signs the same payload with their own key under the real key id, then re-chains.
  const original = JSON.parse(readLinesOf(pristine)[checkpointLine] as string) as { jws: string; prev: string; seq: number };
  const header = JSON.parse(Buffer.from(original.jws.split('.')[0] as string, 'base64url').toString()) as Record<string, string>;
  const forgedJws = await new CompactSign(new TextEncoder().encode(JSON.stringify({ seq: original.seq - 1, hash: original.prev })))
    .setProtectedHeader({ alg: 'ES256', kid: header.kid as string, typ: header.typ as string })
    .sign(forger.privateKey);
  const resigned = tampered(t, pristine, (lines) => {
    lines[checkpointLine] = JSON.stringify({ ...original, jws: forgedJws });
    return rechain(lines, checkpointLine);
  });
  const report = await verifyAudit(resigned, { publicKey });
  t.match(report.problem, { kind: 'bad-signature', line: checkpointLine + 1, seq: checkpointLine + 1 });
  const unchecked = await verifyAudit(resigned);
  t.match(unchecked, { ok: true, signaturesChecked: false }, 'without a key only the chain is checked...');
  t.match(unchecked.warnings, [/signature\(s\) not checked/], '...and the report says so');

  const rewritten = tampered(t, pristine, (lines) => {
    lines[2] = (lines[2] as string).replace('"/tmp/', '"/root/');
    t.not(lines[2], readLinesOf(pristine)[2], 'line 3 really edited');
    return rechain(lines, 2);
  });
  t.match((await verifyAudit(rewritten, { publicKey })).problem, { kind: 'bad-signature', line: 6 }, 're-hashing everything still breaks the next checkpoint');
  const cli = capture();
  const keyFile = path.join(tempDir(t), 'gateway.jwk');
  writeFileSync(keyFile, JSON.stringify(publicKey.export({ format: 'jwk' })));
  t.equal(await run(['verify', rewritten, '--key', keyFile], cli.io), 1);
  t.equal(cli.out(), 'FAILED: bad-signature at audit-000000000001.jsonl:6 (seq 6): checkpoint seq 6: signed payload does not match the chain\n');
});

t.test('rotation: the chain continues across files; a missing middle file is named', async (t) => {
  const dir = tempDir(t);
  const log = await AuditLog.open({
    config: auditConfig(dir, { rotate_bytes: 4096, checkpoint_every: 1000 }),
    signer: await createCheckpointSigner(keys.privateKey),
  });
  for (let i = 1; i <= 60; i++) await log.record(decisionEvent(i));
  await log.close();
  const files = readdirSync(dir).sort();
  t.ok(files.length >= 4, `rotated into ${files.length} files`);
  for (const name of files) {
    const first = JSON.parse(readLinesOf(path.join(dir, name))[0] as string) as { seq: number };
    t.equal(name, `audit-${String(first.seq).padStart(12, '0')}.jsonl`, 'file named by its first seq');
    const lines = readLinesOf(path.join(dir, name));
    t.match(lines[lines.length - 1], '"type":"checkpoint"', `${name} ends with a signed checkpoint`);
  }
  const report = await verifyAudit(dir, { publicKey: keys.publicKey });
  t.match(report, { ok: true, files: files.length, lastSeq: 60 + files.length });
  const alone = await verifyAudit(path.join(dir, files[1] as string), { publicKey: keys.publicKey });
  t.match(alone, { ok: true }, 'one rotated file verifies on its own...');
  t.match(alone.warnings, [/starts at seq \d+: the files before it were not checked/], '...saying what was not checked');
  rmSync(path.join(dir, files[1] as string));
  const firstOfThird = JSON.parse(readLinesOf(path.join(dir, files[2] as string))[0] as string) as { seq: number };
  t.match((await verifyAudit(dir, { publicKey: keys.publicKey })).problem, {
    kind: 'removed',
    file: files[2],
    line: 1,
    seq: firstOfThird.seq,
  });
});

t.test('CLI: usage errors exit 2 with a clear message', async (t) => {
  const cli = capture();
  t.equal(await run(['verify'], cli.io), 2);
  t.match(cli.err(), 'verify takes one file or folder');
  t.equal(await run(['bogus\x1b[31m'], cli.io), 2);
  t.match(cli.err(), 'unknown command "bogus"');
  t.equal(await run(['verify', path.join(tempDir(t), 'missing')], cli.io), 2);
  t.match(cli.err(), 'ENOENT');
  t.equal(await run(['query', tempDir(t), '--decision', 'maybe'], cli.io), 2);
  t.match(cli.err(), '--decision must be one of allow, deny, hold');
  t.equal(await run(['query', tempDir(t), '--nope'], cli.io), 2);
});
