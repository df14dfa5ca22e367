/**
 * `portcullis policy status [--config portcullis.yaml | --file status.json] [--json]`:
 * which policy the gateway runs, where it came from (folder, bundle, .wasm,
 * or git url, ref and commit), since when, what it last refused, and the
 * shadow candidate's. The gateway writes this to `policy.status_file` after
 * every reload attempt (atomically); this command only reads it, so it needs
 * no credentials and works while the admin API is unreachable.
 */
import { readFileSync } from 'node:fs';
import { loadConfigFile, resolveConfigPath } from '../config/load.js';
import type { PolicyStatus, ReloadState } from '../policy/reload.js';
import type { PolicyOrigin } from '../policy/source/source.js';
import { sanitizeText } from '../sanitize/text.js';
import { defaultConfigFile } from '../server.js';
import { UsageError } from './args.js';
import { terminalSafeJson } from './audit.js';
import type { Io } from './policy.js';
import { parseWindowArgs } from './policy-shadow.js';

function origin(from: PolicyOrigin): string {
  if (from.kind === 'git') return `git ${from.url} ref ${from.ref} path ${from.path} commit ${from.commit}`;
  return `${from.kind} ${from.path}`;
}

function describeState(title: string, state: ReloadState): string[] {
  const lines: string[] = [];
  const running = state.running;
  if (running === undefined) lines.push(`${title}: no policy running`);
  else lines.push(`${title}: revision ${running.revision}`, `  from ${origin(running.origin)}`, `  since ${running.since}`);
  const rejected = state.rejected;
  if (rejected !== undefined) {
    lines.push(`  rejected revision ${rejected.revision ?? 'unknown'} at ${rejected.at}${rejected.origin === undefined ? '' : ` (from ${origin(rejected.origin)})`}`);
    lines.push(`    because ${rejected.reason}`);
  }
  return lines;
}

export async function status(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseWindowArgs(args, { config: { type: 'string' }, file: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.config !== undefined && values.file !== undefined) throw new UsageError('give --config or --file, not both');
  let file = values.file;
  if (file === undefined) {
    const config = loadConfigFile(values.config ?? defaultConfigFile());
    file = resolveConfigPath(config, config.policy.status_file);
  }
  let report: PolicyStatus;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as PolicyStatus;
  } catch {
    io.stderr(`portcullis policy status: no readable status at ${sanitizeText(file)} (the gateway writes it once it has started)\n`);
    return 1;
  }
  if (values.json === true) {
    io.stdout(`${terminalSafeJson(report)}\n`);
    return 0;
  }
  const lines = describeState('live policy', report.live);
  if (report.shadow !== undefined) lines.push(...describeState('shadow candidate', report.shadow));
  lines.push(`written ${report.written_at} by gateway process ${report.pid}`);
  io.stdout(`${lines.map((line) => sanitizeText(line)).join('\n')}\n`);
  return 0;
}
