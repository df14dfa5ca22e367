/**
 * A real process writing the audit log, driven by test/audit-crash.test.ts.
 * argv: <dir> <private key PEM file> <mode>
 *   load:    32 concurrent callers forever, each a decision then an outcome record, as the
 *            pipeline writes them; prints "ack <seq>" once each record is synced.
 *   fill:    16 concurrent callers write until the log fails closed (run under `ulimit -f`);
 *            each prints its refusal.
 *   closefd: closes the log's file descriptor underneath it, shows the refusal, waits
 *            for the periodic reopen, writes again.
 *   closefd-batch: closes the descriptor, then queues 40 records in one turn (one batch):
 *            prints each caller's answer.
 */
import { createPrivateKey } from 'node:crypto';
import { closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { AuditLog, AuditUnavailableError } from '../gateway/audit/writer.js';
import { createCheckpointSigner } from '../gateway/audit/checkpoint.js';
import { auditConfig, decisionEvent, outcomeEvent } from './audit-support.js';

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

/** One call as the pipeline records it: the decision, then (once that is synced) the outcome. */
async function caller(): Promise<void> {
  for (;;) {
    const call = ++next;
    say(`ack ${(await log.record(decisionEvent(call))).seq}`);
    say(`ack ${(await log.record(outcomeEvent(call))).seq}`);
  }
}

/** The log's own file descriptor (the only open file in its folder). */
function logFd(): number {
  const fd = readdirSync('/proc/self/fd').find((n) => {
    try {
      return readlinkSync(`/proc/self/fd/${n}`).startsWith(dir);
    } catch {
      return false;
    }
  });
  return Number(fd);
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
  await Promise.all(Array.from({ length: 32 }, () => caller()));
} else if (mode === 'fill') {
  await Promise.all(Array.from({ length: 16 }, () => writer().catch((error: unknown) => void say(refusal(error)))));
  say(`check-throws ${checkThrows()}`);
  say(`available ${log.available}`);
  process.exit(0);
} else if (mode === 'closefd-batch') {
  say(`ack ${(await log.record(decisionEvent(++next))).seq}`);
  closeSync(logFd());
  const batch = Array.from({ length: 40 }, (_, i) => log.record(i % 2 === 0 ? decisionEvent(++next) : outcomeEvent(next)));
  for (const answer of await Promise.allSettled(batch)) say(answer.status === 'fulfilled' ? `ack ${answer.value.seq}` : refusal(answer.reason));
  say(`check-throws ${checkThrows()}`);
  process.exit(0);
} else if (mode === 'closefd') {
  for (let i = 0; i < 5; i++) say(`ack ${(await log.record(decisionEvent(++next))).seq}`);
  const reopened = new Promise<void>((resolve) => (availableAgain = resolve));
  closeSync(logFd());
  await log.record(decisionEvent(++next)).catch((error: unknown) => say(refusal(error)));
  say(`check-throws ${checkThrows()}`);
  await reopened;
  say(`available ${log.available}`);
  say(`ack ${(await log.record(decisionEvent(++next))).seq}`);
  await log.close();
  process.exit(0);
}
