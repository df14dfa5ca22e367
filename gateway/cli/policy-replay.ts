/**
 * `portcullis policy replay <candidate> --audit <dir> [--since T] [--until T] [--json] [--fail-on-change]`:
 * decides every recorded decision again with a candidate policy (folder,
 * bundle or .wasm) and prints what it would change, the same summary as
 * `policy shadow-report`. A record is decided again only when its recorded
 * input and arguments are exactly what the live policy saw; the others (a
 * field redacted or cut when recorded, or no input recorded) are counted.
 * Exit code 1 with --fail-on-change when the candidate changes any outcome.
 */
import type { DecisionRecord } from '../audit/events.js';
import { queryAudit } from '../audit/query.js';
import { locatePolicy, preparePolicy } from '../policy/bundle/artifact.js';
import { changeBetween, outcomeOf } from '../policy/shadow/compare.js';
import type { Outcome } from '../policy/shadow/compare.js';
import { DisagreementSummary } from '../policy/shadow/summary.js';
import type { Disagreement, ReplayCounts } from '../policy/shadow/summary.js';
import { replayInput } from '../pipeline/recorded-input.js';
import { UsageError } from './args.js';
import { auditWindow, parseWindowArgs, printReport, WINDOW_OPTIONS } from './policy-shadow.js';
import type { Io } from './policy.js';

const OUTCOMES = new Set<string>(['allow', 'hold', 'deny']);

export async function replay(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseWindowArgs(args, { ...WINDOW_OPTIONS, 'fail-on-change': { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('replay takes one candidate policy (folder, bundle or .wasm)');
  const { dir, filter } = auditWindow(values);
  const { engine, revision } = await preparePolicy(locatePolicy(positionals[0] as string), { onFailure: () => undefined });
  const summary = new DisagreementSummary();
  const counts: ReplayCounts = { decided: 0, redacted: 0, without_input: 0 };
  for await (const found of queryAudit(dir, { ...filter, type: 'decision' })) {
    const record = found as DecisionRecord;
    if (!OUTCOMES.has(record.decision)) continue;
    const replayable = replayInput(record);
    if ('skipped' in replayable) {
      counts[replayable.skipped]++;
      continue;
    }
    counts.decided++;
    const decision = engine.decide(replayable.input);
    const live: Outcome = record.decision;
    summary.revisions(record.revision, revision);
    const change = changeBetween(live, outcomeOf(decision));
    if (change === undefined) continue;
    const { message, agent } = replayable.input;
    const disagreement: Disagreement = {
      change,
      agent: agent.name,
      server: message.server,
      method: message.method,
      at: record.ts,
      call_id: record.call_id,
      live: { decision: live, revision: record.revision, reasons: record.reasons },
      candidate: { decision: outcomeOf(decision), revision, reasons: decision.reasons },
    };
    if (message.tool !== undefined) disagreement.tool = message.tool;
    summary.add(disagreement);
  }
  const report = summary.report(counts);
  printReport(report, values.json, io);
  const changed = Object.values(report.totals).some((n) => n > 0);
  return values['fail-on-change'] === true && changed ? 1 : 0;
}
