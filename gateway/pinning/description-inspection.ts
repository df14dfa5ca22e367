/**
 * What an agent reads in a tool definition is an instruction channel. This
 * module removes characters a person reviewing the text cannot see, and flags
 * text that tries to steer the agent (the "tool poisoning" attack).
 */

/**
 * Zero-width and joiner characters, bidi embeddings/overrides/isolates, the
 * BOM, invisible operators, soft hyphen, Hangul fillers, variation selectors,
 * Unicode tag characters (used to smuggle ASCII) and C0/C1 controls other than
 * tab and newline.
 */
const INVISIBLE =
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDDEF]/g;

export function removeInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/** Shows each invisible character as a visible \u{...} escape, for reviewers. */
export function revealInvisible(text: string): string {
  return text.replace(INVISIBLE, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`);
}

export function hasInvisible(text: string): boolean {
  INVISIBLE.lastIndex = 0;
  const found = INVISIBLE.test(text);
  INVISIBLE.lastIndex = 0;
  return found;
}

/** Flag name → patterns; flags are a stable, bounded vocabulary for policies and metrics. */
const SUSPICIOUS: ReadonlyArray<readonly [string, RegExp]> = [
  ['hidden-instructions', /<\s*\/?\s*(important|system|instructions?|secret|hidden)\s*>/i],
  ['hidden-instructions', /\b(ignore|disregard|forget)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|other)\b[^.\n]{0,20}\b(instructions?|rules|prompts?|guidelines)\b/i],
  ['hidden-instructions', /\b(system prompt|you are now|new instructions)\b/i],
  ['concealment', /\b(do not|don't|never)\b[^.\n]{0,30}\b(tell|inform|mention|reveal|show|notify|alert)\b[^.\n]{0,30}\b(user|human|operator)\b/i],
  ['sensitive-path', /(~|\$HOME)\/\.(ssh|aws|gnupg|config|kube|docker)\b|\bid_(rsa|ed25519|ecdsa)\b|\.env\b|\bmcp\.json\b|\/etc\/(passwd|shadow)\b|\bcredentials?\.json\b/i],
  ['tool-shadowing', /\b(instead of|rather than|before (using|calling))\b[^.\n]{0,40}\b(tool|function)\b|\bwhen\b[^.\n]{0,40}\btool\b[^.\n]{0,20}\b(is|gets)\s+(called|used|invoked)\b/i],
  ['data-exfiltration', /\b(send|post|upload|forward|include|pass)\b[^.\n]{0,40}\b(conversation|chat history|api[ _-]?keys?|tokens?|passwords?|secrets?|private keys?)\b/i],
];

const MAX_DESCRIPTION = 4096;

/** Flags for one piece of text, sorted and without duplicates. */
export function flagText(text: string): string[] {
  const flags = new Set<string>();
  if (hasInvisible(text)) flags.add('invisible-characters');
  const visible = removeInvisible(text);
  for (const [flag, pattern] of SUSPICIOUS) if (pattern.test(visible)) flags.add(flag);
  if (visible.length > MAX_DESCRIPTION) flags.add('oversized-description');
  return [...flags].sort();
}

const TEXT_KEYS = new Set(['description', 'title']);

/** Every human-readable text field (description/title) anywhere in a definition. */
function* texts(value: unknown, depth = 0): Generator<string> {
  if (depth > 64 || value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (TEXT_KEYS.has(key) && typeof child === 'string') yield child;
    else yield* texts(child, depth + 1);
  }
}

export function flagDefinition(definition: unknown): string[] {
  const flags = new Set<string>();
  for (const text of texts(definition)) for (const flag of flagText(text)) flags.add(flag);
  return [...flags].sort();
}

/** A copy of the definition with invisible characters removed from every description/title. */
export function cleanDefinition<T>(value: T, depth = 0): T {
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => cleanDefinition(item, depth + 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    copy[key] = TEXT_KEYS.has(key) && typeof child === 'string' ? removeInvisible(child) : cleanDefinition(child, depth + 1);
  }
  return copy as T;
}
