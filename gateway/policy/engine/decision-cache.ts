/**
 * Decisions of a pure policy (see compiler/input-paths.ts), by the exact text
 * of the input the policy saw: the same text, the same data and the same
 * module can only give the same decision, so a repeated one is not evaluated
 * again. Keys are whole texts, never hashes (no collision can hand one input
 * another's decision). Bounded: least recently used first out; long inputs
 * are not kept. One cache per engine, so a new revision starts empty.
 */
import type { RevisedDecision } from './decision.js';

/** Inputs longer than this (characters) are evaluated every time: they seldom repeat, and would pin memory. */
const MAX_KEY_CHARS = 4096;

/** The decision and everything in it made read-only (its fields, by name: no walk, no allocation). */
function frozen(decision: RevisedDecision): RevisedDecision {
  Object.freeze(decision.reasons);
  if (decision.hold) Object.freeze(Object.freeze(decision.hold).approvers);
  if (decision.rate) Object.freeze(decision.rate);
  if (decision.redact) Object.freeze(decision.redact);
  if (decision.classification) Object.freeze(decision.classification);
  return Object.freeze(decision);
}

export class DecisionCache {
  private readonly entries = new Map<string, RevisedDecision>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(inputText: string): RevisedDecision | undefined {
    const decision = this.entries.get(inputText);
    if (decision !== undefined) {
      // Most recently used moves to the end (Map keeps insertion order).
      this.entries.delete(inputText);
      this.entries.set(inputText, decision);
    }
    return decision;
  }

  /** Keeps `decision` (frozen: every caller shares it) and returns it. */
  keep(inputText: string, decision: RevisedDecision): RevisedDecision {
    if (inputText.length > MAX_KEY_CHARS) return decision;
    this.entries.set(inputText, frozen(decision));
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return decision;
  }
}
