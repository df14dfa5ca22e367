/**
 * A real process writing the audit log, driven by test/audit-crash.test.ts.
 * argv: <dir> <private key PEM file> <mode>
 *   load:    8 concurrent writers forever; prints "ack <seq>" once each record is synced.
 *   fill:    writes until the log fails closed (run under `ulimit -f`); prints the refusal.
 *   closefd: closes the log's file descriptor underneath it, shows the refusal, waits
 *            for the periodic reopen, writes again.
 */
import { createPrivateKey } from 'node:crypto';
import { closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { AuditLog, AuditUnavailableError } from '../gateway/audit/writer.js';
import { createCheckpointSigner } from '../gateway/audit/checkpoint.js';
import { auditConfig, decisionEvent } from './audit-support.js';

const [dir, keyFile, mode] = process.argv.slice(2) as [string, string, string];
const say = (line: string): boolean => process.stdout.write(`${line}\n`);
let availableAgain: (() => void) | undefined;
const log = await AuditLog.open({
  config: auditConfig(dir, { fsync: 'always', checkpoint_every: 50, retry_seconds: 0.05 }),
  signer: await createCheckpointSigner(createPrivateKey(readFileSync(keyFile))),
  observer: {
    recordsWritten: () => undefined,
    writeFailed: () => say('write-failed'),
    availabilityChanged: (available) => {
      if (available) availableAgain?.();
    },
  },
});
let next = 0;

async function writer(): Promise<void> {
  for (;;) {
    const receipt = await log.record(decisionEvent(++next));
    say(`ack ${receipt.seq}`);
  }
}

function refusal(error: unknown): string {
  return error instanceof AuditUnavailableError ? `refused ${error.code} ${error.reason}` : `unexpected ${String(error)}`;
}

function checkThrows(): boolean {
  try {
    log.check();
    return false;
  } catch (error) {
    return error instanceof AuditUnavailableError;
  }
}

if (mode === 'load') {
  await Promise.all(Array.from({ length: 8 }, () => writer()));
} else if (mode === 'fill') {
  try {
    await writer();
  } catch (error) {
    say(refusal(error));
    say(`check-throws ${checkThrows()}`);
    say(`available ${log.available}`);
    process.exit(0);
  }
} else if (mode === 'closefd') {
  for (let i = 0; i < 5; i++) say(`ack ${(await log.record(decisionEvent(++next))).seq}`);
  const fd = readdirSync('/proc/self/fd').find((n) => {
    try {
      return readlinkSync(`/proc/self/fd/${n}`).startsWith(dir);
    } catch {
      return false;
    }
  });
  const reopened = new Promise<void>((resolve) => (availableAgain = resolve));
  closeSync(Number(fd));
  await log.record(decisionEvent(++next)).catch((error: unknown) => say(refusal(error)));
  say(`check-throws ${checkThrows()}`);
  await reopened;
  say(`available ${log.available}`);
  say(`ack ${(await log.record(decisionEvent(++next))).seq}`);
  await log.close();
  process.exit(0);
}
