/**
 * Where the secrets in a text are: every detector over the text as written,
 * over its normalised view and inside its decoded base64 and hex runs (see
 * normalise.ts), as spans of the original text, overlaps merged.
 */
import { SECRET_DETECTORS } from './detectors.js';
import { decodedRuns, normalisedView, sourceEnd, sourceStart } from './normalise.js';

const ANY_SECRET_HINT = new RegExp(SECRET_DETECTORS.filter((d) => !d.optIn).map((d) => d.hint.source).join('|'), 'i');
/** The detectors' patterns with match indices (flag d), in detector order. */
const INDEXED = SECRET_DETECTORS.map((d) => new RegExp(d.pattern.source, `${d.pattern.flags}d`));
/** Decoded runs inside decoded runs (base64 of base64, of percent-encoding...) are looked into this deep. */
const MAX_DECODE_DEPTH = 2;

/** A stretch of the text to replace: `rank` is the detector's place in the list (lower wins a merge). */
export interface SecretSpan {
  start: number;
  end: number;
  kind: string;
  rank: number;
}

/** Every detector's matches in `text` itself (only the `secret` group where a detector has one). */
function matchDetectors(text: string, optIn: ReadonlySet<string> | undefined): SecretSpan[] {
  const hits: SecretSpan[] = [];
  if (!ANY_SECRET_HINT.test(text) && !(optIn && optIn.size > 0)) return hits;
  SECRET_DETECTORS.forEach((detector, rank) => {
    if (detector.optIn && !optIn?.has(detector.kind)) return;
    if (!detector.hint.test(text)) return;
    for (const m of text.matchAll(INDEXED[rank] as RegExp)) {
      if (detector.accept && !detector.accept(m[0], m.groups?.secret)) continue;
      const [start, end] = m.indices?.groups?.secret ?? [m.index, m.index + m[0].length];
      hits.push({ start, end, kind: detector.kind, rank });
    }
  });
  return hits;
}

/**
 * Secrets only a normalised view shows (percent-decoded, NFKC, invisible
 * characters dropped), mapped back to the original text; and base64 or hex
 * runs whose decoded text holds a secret, each replaced whole.
 */
function hiddenHits(text: string, optIn: ReadonlySet<string> | undefined, depth: number): SecretSpan[] {
  const hits: SecretSpan[] = [];
  const view = normalisedView(text);
  if (view !== undefined) {
    for (const hit of matchDetectors(view.text, optIn)) {
      hits.push({ ...hit, start: sourceStart(view, hit.start), end: sourceEnd(view, hit.end - 1) });
    }
  }
  if (depth >= MAX_DECODE_DEPTH) return hits;
  for (const run of decodedRuns(view ?? { text })) {
    const inside = findHits(run.text, optIn, depth + 1);
    const first = inside.reduce<SecretSpan | undefined>((best, hit) => (best === undefined || hit.rank < best.rank ? hit : best), undefined);
    if (first !== undefined) hits.push({ start: run.start, end: run.end, kind: first.kind, rank: first.rank });
  }
  return hits;
}

function findHits(text: string, optIn: ReadonlySet<string> | undefined, depth: number): SecretSpan[] {
  return [...matchDetectors(text, optIn), ...hiddenHits(text, optIn, depth)];
}

/**
 * Overlapping hits become one, named by the detector first in the list: a
 * bearer token inside an Authorization header is reported once, as the header.
 */
function mergeHits(hits: SecretSpan[]): SecretSpan[] {
  const merged: SecretSpan[] = [];
  for (const hit of hits.sort((a, b) => a.start - b.start || b.end - a.end)) {
    const last = merged[merged.length - 1];
    if (last === undefined || hit.start >= last.end) {
      merged.push({ ...hit });
      continue;
    }
    last.end = Math.max(last.end, hit.end);
    if (hit.rank < last.rank) Object.assign(last, { kind: hit.kind, rank: hit.rank });
  }
  return merged;
}

/** The secrets in `text` (opt-in detectors only when named in `optIn`), merged, in text order. */
export function findSecrets(text: string, optIn?: ReadonlySet<string>): SecretSpan[] {
  return mergeHits(findHits(text, optIn, 0));
}

