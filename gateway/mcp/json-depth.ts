/**
 * One pass over a message's JSON text before anything walks the parsed
 * value: every later stage (policy input, audit redaction, digests)
 * recurses, so a message nested thousands deep must be refused up front
 * rather than overflow the stack somewhere downstream; and a number literal
 * too large for a double (1e999) parses to Infinity, which is not JSON and
 * cannot be decided, digested or forwarded faithfully.
 */

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A character a JSON number literal may continue with (the text is valid JSON: no need to check the grammar). */
function isNumberPart(c: number): boolean {
  return isDigit(c) || c === LOWER_E || c === UPPER_E || c === PLUS || c === MINUS || c === DOT;
}

/** Longest run of digits a finite double can be written with before its exponent matters. */
const MAX_PLAIN_DIGITS = 308;

export type JsonTextProblem = 'nestedTooDeep' | 'numberOutOfRange';

/** What in `text` (valid JSON) the gateway will not take, or undefined. */
export function jsonTextProblem(text: string, depthLimit: number): JsonTextProblem | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > depthLimit) return 'nestedTooDeep';
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === MINUS || isDigit(c)) {
      // A number starts with '-' or a digit; only long or exponent forms can overflow a double.
      let end = i + 1;
      let exponent = false;
      for (let n = text.charCodeAt(end); end < text.length && isNumberPart(n); n = text.charCodeAt(++end)) {
        if (n === LOWER_E || n === UPPER_E) exponent = true;
      }
      if ((exponent || end - i > MAX_PLAIN_DIGITS) && !Number.isFinite(Number(text.slice(i, end)))) return 'numberOutOfRange';
      i = end - 1;
    }
  }
  return undefined;
}
