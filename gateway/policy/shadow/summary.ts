/**
 * The review summary of a candidate policy, the same for `policy
 * shadow-report` (disagreements the gateway recorded while the candidate ran
 * in its shadow) and `policy replay` (recorded traffic decided again): how
 * many calls it would newly deny or allow, or newly hold or stop holding, by
 * agent, server and tool, with a few examples. The callers hand it fields
 * from audit records only, which were sanitized when written; it adds none.
 */
import { CHANGES, explainedBy } from './compare.js';
import type { Change, Outcome } from './compare.js';

export interface Disagreement {
  change: Change;
  /** Agent name (else its id), server, method and tool as recorded. */
  agent: string;
  server: string;
  method: string;
  tool?: string;
  /** When the message was decided (ISO 8601), and its call id when it had one. */
  at: string;
  call_id?: string;
  live: { decision: Outcome; revision: string; reasons: readonly string[] };
  candidate: { decision: Outcome; revision: string; reasons: readonly string[] };
}

/** Replay only: what was decided again, and what could not be faithfully. */
export interface ReplayCounts {
  /** Decision records decided again with the candidate. */
  decided: number;
  /** Records not decided again: an argument or input field was redacted or cut when recorded. */
  redacted: number;
  /** Records without the policy input (written before inputs were recorded, or not a policy decision). */
  without_input: number;
}

export interface GroupCounts {
  agent: string;
  server: string;
  tool: string;
  counts: Record<Change, number>;
}

export interface SummaryReport {
  /** Which candidate and live revisions the disagreements are between. */
  candidate_revisions: string[];
  live_revisions: string[];
  totals: Record<Change, number>;
  groups: GroupCounts[];
  examples: Disagreement[];
  replay?: ReplayCounts;
}

const NO_TOOL = '-';
const EXAMPLES_PER_CHANGE = 3;

function zero(): Record<Change, number> {
  return { newly_deny: 0, newly_allow: 0, hold_added: 0, hold_removed: 0 };
}

export class DisagreementSummary {
  private readonly totals = zero();
  private readonly groups = new Map<string, GroupCounts>();
  private readonly examples: Disagreement[] = [];
  private readonly candidates = new Set<string>();
  private readonly lives = new Set<string>();

  constructor(private readonly examplesPerChange = EXAMPLES_PER_CHANGE) {}

  add(d: Disagreement): void {
    this.totals[d.change]++;
    const tool = d.tool ?? NO_TOOL;
    const key = JSON.stringify([d.agent, d.server, tool]);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { agent: d.agent, server: d.server, tool, counts: zero() };
      this.groups.set(key, group);
    }
    group.counts[d.change]++;
    if (this.examples.filter((e) => e.change === d.change).length < this.examplesPerChange) this.examples.push(d);
    this.candidates.add(d.candidate.revision);
    this.lives.add(d.live.revision);
  }

  /** Revisions seen on messages that agreed as well (replay knows them; shadow records only disagreements). */
  revisions(live: string, candidate: string): void {
    this.lives.add(live);
    this.candidates.add(candidate);
  }

  report(replay?: ReplayCounts): SummaryReport {
    const order = (a: GroupCounts, b: GroupCounts): number => total(b) - total(a) || (a.agent + a.server + a.tool < b.agent + b.server + b.tool ? -1 : 1);
    const report: SummaryReport = {
      candidate_revisions: [...this.candidates].sort(),
      live_revisions: [...this.lives].sort(),
      totals: { ...this.totals },
      groups: [...this.groups.values()].sort(order),
      examples: [...this.examples],
    };
    if (replay !== undefined) report.replay = { ...replay };
    return report;
  }
}

function total(group: GroupCounts): number {
  return CHANGES.reduce((sum, change) => sum + group.counts[change], 0);
}

const LABELS: Record<Change, string> = {
  newly_deny: 'would newly deny',
  newly_allow: 'would newly allow',
  hold_added: 'would newly hold for approval',
  hold_removed: 'would no longer hold',
};

/** The report as text for a terminal or a pull request comment (callers make it terminal-safe). */
export function formatSummary(report: SummaryReport): string {
  const lines: string[] = [];
  lines.push(`candidate: ${report.candidate_revisions.join(', ') || 'unknown'}`);
  lines.push(`live:      ${report.live_revisions.join(', ') || 'unknown'}`);
  const replay = report.replay;
  if (replay !== undefined) {
    lines.push(`decided again: ${replay.decided}`);
    lines.push(`not decided again faithfully: ${replay.redacted + replay.without_input} (${replay.redacted} with redacted fields, ${replay.without_input} without a recorded policy input)`);
  }
  for (const change of CHANGES) lines.push(`${LABELS[change]}: ${report.totals[change]}`);
  if (report.groups.length > 0) {
    lines.push('', 'by agent, server and tool (newly deny / newly allow / newly hold / no longer hold):');
    for (const g of report.groups) lines.push(`  ${g.agent}  ${g.server}  ${g.tool}  ${CHANGES.map((c) => g.counts[c]).join(' / ')}`);
  }
  if (report.examples.length > 0) {
    lines.push('', 'examples:');
    for (const e of report.examples) {
      const what = `${e.agent} ${e.method} ${e.server}${e.tool === undefined ? '' : `/${e.tool}`}`;
      const why = e[explainedBy(e.change)].reasons;
      lines.push(`  ${e.at} ${LABELS[e.change]}: ${what}: ${e.live.decision} -> ${e.candidate.decision}${why.length > 0 ? ` (${why.join('; ')})` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
