/**
 * A policy decision's `redact` list, compiled once: detector names switch on
 * opt-in detectors; JSON paths ($.a.b, $['a b'], $.items[0], $.items[*].c)
 * mask whole values.
 */
import { DETECTOR_KINDS } from './detectors.js';

const WILDCARD = Symbol('wildcard');
type Segment = string | number | typeof WILDCARD;

export interface RedactPlan {
  detectors: ReadonlySet<string>;
  unknown: string[];
  matchesPath(path: readonly (string | number)[]): boolean;
}

const SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\.\*|\[\*\]|\[(\d{1,9})\]|\['([^'\\]*)'\]|\["([^"\\]*)"\])/;

/** Parses `$...` into segments, or undefined when the text is not a supported path. */
export function parseJsonPath(text: string): Segment[] | undefined {
  if (!text.startsWith('$')) return undefined;
  const segments: Segment[] = [];
  let rest = text.slice(1);
  while (rest.length > 0) {
    const m = SEGMENT.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else if (m[3] !== undefined) segments.push(m[3]);
    else if (m[4] !== undefined) segments.push(m[4]);
    else segments.push(WILDCARD);
    rest = rest.slice(m[0].length);
  }
  return segments;
}

function segmentMatches(pattern: Segment, actual: string | number): boolean {
  return pattern === WILDCARD || pattern === actual;
}

export function compileRedactList(list: readonly string[]): RedactPlan {
  const detectors = new Set<string>();
  const paths: Segment[][] = [];
  const unknown: string[] = [];
  for (const entry of list) {
    const path = parseJsonPath(entry);
    if (path) paths.push(path);
    else if (DETECTOR_KINDS.includes(entry)) detectors.add(entry);
    else unknown.push(entry);
  }
  return {
    detectors,
    unknown,
    matchesPath: (actual) =>
      paths.some((p) => p.length === actual.length && p.every((seg, i) => segmentMatches(seg, actual[i] as string | number))),
  };
}
