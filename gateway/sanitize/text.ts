/**
 * Sanitizing one string: hostile characters neutralised, secrets replaced by
 * `[REDACTED:<kind>]`, length capped. Used for every log line and audit field;
 * redactSecrets alone masks tool results and upstream errors.
 */
import { findSecrets } from './find-secrets.js';

/** Counts by detector kind of what was found and neutralised. */
export type Findings = Record<string, number>;

export interface SanitizeOptions {
  /** Longest output in UTF-16 units before the truncation marker; default 4096. */
  maxLength?: number;
  /** Opt-in detectors to run as well (e.g. "email", "credit-card"), as a policy's `redact` names them. */
  optIn?: ReadonlySet<string>;
}

export const DEFAULT_MAX_LENGTH = 4096;
/** Text past the cap that is still scanned, so a secret straddling the cap is redacted whole. */
const SCAN_MARGIN = 16_384;

// CSI (ESC [ or C1 0x9b) with parameters, OSC up to BEL/ST, and two-byte ESC sequences.
const ANSI = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const ZERO_WIDTH = /[\u00ad\u180e\u200b-\u200d\u2060\ufeff]/g;
// C0, DEL, C1 and the Unicode line/paragraph separators.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
/** Any character one of the passes above acts on: most text has none, and skips them all. */
const SPECIAL = /[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]/;
export function redactionMarker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

function count(findings: Findings, kind: string, n = 1): void {
  findings[kind] = (findings[kind] ?? 0) + n;
}

function removeAll(text: string, pattern: RegExp, kind: string, findings: Findings): string {
  let n = 0;
  const out = text.replace(pattern, () => {
    n++;
    return '';
  });
  if (n > 0) count(findings, kind, n);
  return out;
}

/**
 * Replaces every secret in `text` by its marker: when a detector has a
 * `secret` group only that part; when only a normalised or decoded view shows
 * the secret, the original (encoded) stretch it came from.
 */
export function redactSecrets(text: string, findings: Findings, optIn?: ReadonlySet<string>): string {
  const hits = findSecrets(text, optIn);
  if (hits.length === 0) return text;
  const parts: string[] = [];
  let at = 0;
  for (const hit of hits) {
    parts.push(text.slice(at, hit.start), redactionMarker(hit.kind));
    count(findings, hit.kind);
    at = hit.end;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

/** The kinds of secret in `text` (default detectors only), without building a redacted copy. */
export function secretKindsIn(text: string, into: Set<string>): void {
  for (const hit of findSecrets(text)) into.add(hit.kind);
}

/** Control characters become visible `\uXXXX` text: nothing can start a new (forged) line. */
function escapeControls(text: string, findings: Findings): string {
  return text.replace(CONTROL, (ch) => {
    // Newline and tab are ordinary in multi-line text: escaped, but not findings.
    if (ch === '\r' || ch === '\u2028' || ch === '\u2029') count(findings, 'line-break');
    else if (ch !== '\n' && ch !== '\t') count(findings, 'control-char');
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function capLength(text: string, max: number, originalLength: number, findings: Findings): string {
  if (text.length <= max && originalLength <= max + SCAN_MARGIN) return text;
  count(findings, 'truncated');
  let cut = text.slice(0, max);
  // Never leave half a surrogate pair.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…[TRUNCATED:${originalLength} chars]`;
}

/**
 * Order: escapes and invisible characters go first so they cannot split a
 * secret past the detectors; secrets next (PEM blocks span lines, so before
 * line breaks are escaped); the length cap last so a cut never reveals half a secret.
 */
export function sanitizeString(input: string, findings: Findings, options: SanitizeOptions = {}): string {
  const max = options.maxLength ?? DEFAULT_MAX_LENGTH;
  let text = input.length > max + SCAN_MARGIN ? input.slice(0, max + SCAN_MARGIN) : input;
  const special = SPECIAL.test(text);
  if (special) {
    text = removeAll(text, ANSI, 'ansi-escape', findings);
    text = removeAll(text, BIDI, 'bidi-control', findings);
    text = removeAll(text, ZERO_WIDTH, 'zero-width', findings);
  }
  text = redactSecrets(text, findings, options.optIn);
  if (special) text = escapeControls(text, findings);
  return capLength(text, max, input.length, findings);
}

/** Convenience for callers that only want the text. */
export function sanitizeText(input: string, options?: SanitizeOptions): string {
  return sanitizeString(input, {}, options);
}
