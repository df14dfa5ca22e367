/**
 * `portcullis audit verify <file|dir> [--key <pem|jwk>] [--json]`
 * `portcullis audit query <file|dir> [--agent ID] [--server S] [--tool T]
 *    [--decision allow|deny|hold] [--call-id ID] [--type T] [--since TIME] [--until TIME] [--limit N]`
 * Exit codes: 0 OK, 1 verification failed, 2 usage or I/O error.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseVerificationKey } from '../audit/checkpoint.js';
import type { AuditRecord } from '../audit/events.js';
import { parseTimeBound, queryAudit, type AuditFilter } from '../audit/query.js';
import { verifyAudit, type VerifyReport } from '../audit/verify.js';
import { sanitizeText } from '../sanitize/text.js';
import { UsageError } from './args.js';

export const USAGE = `usage:
  portcullis audit verify <file|dir> [--key <cert.pem|public.pem|key.jwk>] [--json]
  portcullis audit query <file|dir> [--agent ID] [--server NAME] [--tool NAME]
      [--decision allow|deny|hold] [--call-id ID] [--type decision|outcome|event|checkpoint|recovery]
      [--since TIME] [--until TIME] [--limit N]
  TIME is ISO 8601 or a duration back from now: 30s, 15m, 2h, 7d.`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function describe(report: VerifyReport): string {
  const counts = `${report.records} records, ${report.checkpoints} checkpoints, ${report.files} file(s)`;
  if (report.problem) {
    const p = report.problem;
    return `FAILED: ${p.kind} at ${p.file}:${p.line}${p.seq !== undefined ? ` (seq ${p.seq})` : ''}: ${p.message}`;
  }
  const signed = report.signaturesChecked ? 'signatures verified' : 'signatures NOT checked';
  return `OK: ${counts}, ${signed}${report.recovered ? `, ${report.recovered} crash recovery seal(s)` : ''}`;
}

async function verify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { key: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const [target] = positionals;
  if (target === undefined || positionals.length > 1) throw new UsageError('verify takes one file or folder');
  const publicKey = values.key === undefined ? undefined : parseVerificationKey(await readFile(values.key, 'utf8'));
  const report = await verifyAudit(target, { publicKey });
  if (values.json) io.out(`${JSON.stringify(report)}\n`);
  else {
    io.out(`${sanitizeText(describe(report))}\n`);
    for (const warning of report.warnings) io.err(`warning: ${sanitizeText(warning)}\n`);
  }
  return report.ok ? 0 : 1;
}

/**
 * Records were sanitized when written, but a hand-edited file may hold
 * anything: every character outside printable ASCII is written as a JSON
 * \u escape, so the output stays valid JSON and inert on a terminal.
 */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const DECISIONS = ['allow', 'deny', 'hold'] as const;
const TYPES = ['decision', 'outcome', 'event', 'checkpoint', 'recovery'] as const;

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function timeBound(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const at = parseTimeBound(value);
  if (at === undefined) throw new UsageError(`--${name}: not a time (ISO 8601 or 30s/15m/2h/7d)`);
  return at;
}

async function query(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      agent: { type: 'string' },
      server: { type: 'string' },
      tool: { type: 'string' },
      decision: { type: 'string' },
      'call-id': { type: 'string' },
      type: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const [target] = positionals;
  if (target === undefined || positionals.length > 1) throw new UsageError('query takes one file or folder');
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!(limit > 0) || (limit !== Infinity && !Number.isSafeInteger(limit))) throw new UsageError('--limit must be a positive integer');
  const filter: AuditFilter = {
    agent: values.agent,
    server: values.server,
    tool: values.tool,
    decision: oneOf('decision', values.decision, DECISIONS),
    callId: values['call-id'],
    type: oneOf('type', values.type, TYPES) as AuditRecord['type'] | undefined,
    since: timeBound('since', values.since),
    until: timeBound('until', values.until),
  };
  let shown = 0;
  for await (const record of queryAudit(target, filter)) {
    io.out(`${terminalSafeJson(record)}\n`);
    if (++shown >= limit) break;
  }
  return 0;
}

export async function run(args: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === 'verify') return await verify(rest, io);
    if (command === 'query') return await query(rest, io);
    throw new UsageError(command === undefined ? 'missing command' : `unknown command "${sanitizeText(command, { maxLength: 64 })}"`);
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.err(`portcullis audit: ${sanitizeText((error as Error).message)}\n${USAGE}\n`);
      return 2;
    }
    const code = (error as NodeJS.ErrnoException).code;
    io.err(`portcullis audit: ${sanitizeText(code ?? (error as Error).message ?? 'failed')}\n`);
    return 2;
  }
}
