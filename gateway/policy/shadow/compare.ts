/**
 * How a candidate policy's answer differs from the live one's, for shadow
 * evaluation (live traffic) and replay (recorded traffic) alike. Only the
 * enforced outcome counts: allow, hold (allow after a person's approval) or
 * deny; differing reasons, rate classes or redactions alone are no change.
 */
import type { Decision } from '../engine/decision.js';

export type Outcome = 'allow' | 'hold' | 'deny';

export type Change = 'newly_deny' | 'newly_allow' | 'hold_added' | 'hold_removed';

export const CHANGES: readonly Change[] = ['newly_deny', 'newly_allow', 'hold_added', 'hold_removed'];

export function outcomeOf(decision: Pick<Decision, 'allow' | 'hold'>): Outcome {
  if (decision.allow !== true) return 'deny';
  // Parsed decisions never hold null (decision-shape.ts drops it).
  return decision.hold === undefined ? 'allow' : 'hold';
}

/** What the candidate would change about a message the live policy decided `live`; undefined when nothing. */
export function changeBetween(live: Outcome, candidate: Outcome): Change | undefined {
  if (live === candidate) return undefined;
  if (candidate === 'deny') return 'newly_deny';
  if (live === 'deny') return 'newly_allow';
  return candidate === 'hold' ? 'hold_added' : 'hold_removed';
}

/**
 * Whose reasons explain a change: the candidate's for what it newly refuses
 * or holds, the live policy's for what the candidate lets through.
 */
export function explainedBy(change: Change): 'live' | 'candidate' {
  return change === 'newly_deny' || change === 'hold_added' ? 'candidate' : 'live';
}

/** The first reason that explains a change (a metric label, bounded there). */
export function changeReason(change: Change, live: readonly string[], candidate: readonly string[]): string {
  const reasons = explainedBy(change) === 'candidate' ? candidate : live;
  return reasons.find((r) => typeof r === 'string' && r !== '') ?? 'none';
}
