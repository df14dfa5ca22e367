/**
 * Rego v1 lexer: source text to a flat token array (ending with an `eof`
 * token). Whitespace and comments are dropped, but every token records
 * whether whitespace / a newline preceded it: the parser needs that to tell
 * `a.b` (a ref) from `a .b`, and to end a body literal at a line break.
 */
import { RegoError, type Loc } from './ast.js';

export const KEYWORDS = [
  'as', 'contains', 'default', 'else', 'every', 'false', 'if', 'import',
  'in', 'not', 'null', 'package', 'some', 'true', 'with',
] as const;
export type Keyword = (typeof KEYWORDS)[number];

export type Punct =
  | '{' | '}' | '[' | ']' | '(' | ')' | ',' | ';' | '.' | ':'
  | ':=' | '=' | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '+' | '-' | '*' | '/' | '%' | '&' | '|';

export type TokenKind = 'ident' | 'number' | 'string' | 'eof' | Keyword | Punct;

export interface Token {
  kind: TokenKind;
  /** Source text of the token (empty for `eof`). */
  text: string;
  /** Unescaped content for strings, JSON-compatible text for numbers, else `text`. */
  value: string;
  line: number;
  col: number;
  /** Whitespace or a comment separates this token from the previous one. */
  wsBefore: boolean;
  /** A line break separates this token from the previous one. */
  nlBefore: boolean;
}

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

export function isKeyword(kind: TokenKind): kind is Keyword {
  return KEYWORD_SET.has(kind);
}

const enum Ch {
  Tab = 9, LF = 10, CR = 13, Space = 32, Bang = 33, Quote = 34, Hash = 35, Percent = 37, Amp = 38,
  LParen = 40, RParen = 41, Star = 42, Plus = 43, Comma = 44, Minus = 45, Dot = 46, Slash = 47,
  Zero = 48, Nine = 57, Colon = 58, Semi = 59, Lt = 60, Eq = 61, Gt = 62,
  UpperA = 65, UpperZ = 90, LBrack = 91, Backslash = 92, RBrack = 93, Underscore = 95, Backtick = 96,
  LowerA = 97, LowerE = 101, LowerZ = 122, LBrace = 123, Pipe = 124, RBrace = 125, UpperE = 69, BOM = 0xfeff,
}

const SINGLE_CHAR_PUNCT: Readonly<Record<number, Punct>> = {
  [Ch.LBrace]: '{', [Ch.RBrace]: '}', [Ch.LBrack]: '[', [Ch.RBrack]: ']', [Ch.LParen]: '(', [Ch.RParen]: ')',
  [Ch.Comma]: ',', [Ch.Semi]: ';', [Ch.Plus]: '+', [Ch.Minus]: '-', [Ch.Star]: '*', [Ch.Slash]: '/',
  [Ch.Percent]: '%', [Ch.Amp]: '&', [Ch.Pipe]: '|',
};

function isLetter(c: number): boolean {
  return (c >= Ch.LowerA && c <= Ch.LowerZ) || (c >= Ch.UpperA && c <= Ch.UpperZ) || c === Ch.Underscore;
}

function isDigit(c: number): boolean {
  return c >= Ch.Zero && c <= Ch.Nine;
}

const VALID_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u']);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** A `#` comment: its text after the `#`, where it starts, and whether code precedes it on its line. */
export interface Comment {
  text: string;
  line: number;
  col: number;
  /** Nothing but whitespace before it on its line (else it trails code). */
  ownLine: boolean;
}

export function tokenize(source: string, file: string): Token[] {
  return new Lexer(source, file).run();
}

/** Tokens and the comments between them (the formatter and `# METADATA` annotations need both). */
export function tokenizeWithComments(source: string, file: string): { tokens: Token[]; comments: Comment[] } {
  const lexer = new Lexer(source, file);
  return { tokens: lexer.run(), comments: lexer.comments };
}

class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  /** Set once the current line holds a non-ASCII character: columns then count code points. */
  private lineHasWide = false;
  private readonly tokens: Token[] = [];
  readonly comments: Comment[] = [];

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  run(): Token[] {
    const src = this.src;
    if (src.charCodeAt(0) === Ch.BOM) this.pos = this.lineStart = 1;
    let wsBefore = false;
    let nlBefore = false;
    for (;;) {
      const c = src.charCodeAt(this.pos);
      if (Number.isNaN(c)) break;
      if (c === Ch.Space || c === Ch.Tab || c === Ch.CR) {
        this.pos++;
        wsBefore = true;
      } else if (c === Ch.LF) {
        this.newline(this.pos);
        this.pos++;
        wsBefore = nlBefore = true;
      } else if (c === Ch.Hash) {
        this.skipComment();
        wsBefore = true;
      } else {
        this.scanToken(c, wsBefore, nlBefore);
        wsBefore = nlBefore = false;
      }
    }
    this.tokens.push({ kind: 'eof', text: '', value: '', line: this.line, col: this.column(this.pos), wsBefore, nlBefore: true });
    return this.tokens;
  }

  private newline(lfOffset: number): void {
    this.line++;
    this.lineStart = lfOffset + 1;
    this.lineHasWide = false;
  }

  /** 1-based column of `offset` on the current line, in code points. */
  private column(offset: number): number {
    if (!this.lineHasWide) return offset - this.lineStart + 1;
    let col = 1;
    for (let i = this.lineStart; i < offset; i++) {
      const c = this.src.charCodeAt(i);
      if (c < 0xdc00 || c > 0xdfff) col++; // a low surrogate belongs to the previous code point
    }
    return col;
  }

  private loc(offset: number): Loc {
    return { file: this.file, line: this.line, col: this.column(offset) };
  }

  private fail(detail: string, offset: number): never {
    throw new RegoError('rego_parse_error', detail, this.loc(offset));
  }

  /** Records the token spanning `start` up to the current position; line/col were taken before scanning it. */
  private push(kind: TokenKind, start: number, line: number, col: number, value: string | undefined, wsBefore: boolean, nlBefore: boolean): void {
    const text = this.src.slice(start, this.pos);
    this.tokens.push({ kind, text, value: value ?? text, line, col, wsBefore, nlBefore });
  }

  private skipComment(): void {
    const src = this.src;
    const start = this.pos;
    const line = this.line;
    const last = this.tokens[this.tokens.length - 1];
    const col = this.column(start);
    while (this.pos < src.length && src.charCodeAt(this.pos) !== Ch.LF) {
      if (src.charCodeAt(this.pos) > 0x7f) this.lineHasWide = true;
      this.pos++;
    }
    const text = src.slice(start + 1, this.pos).replace(/\r$/, '');
    this.comments.push({ text, line, col, ownLine: last === undefined || tokenEndLine(last) !== line });
  }

  private scanToken(c: number, ws: boolean, nl: boolean): void {
    const start = this.pos;
    const src = this.src;
    const line = this.line;
    const col = this.column(start);
    if (isLetter(c)) {
      this.pos++;
      while (this.pos < src.length) {
        const d = src.charCodeAt(this.pos);
        if (!isLetter(d) && !isDigit(d)) break;
        this.pos++;
      }
      const word = src.slice(start, this.pos);
      this.push(KEYWORD_SET.has(word) ? (word as Keyword) : 'ident', start, line, col, word, ws, nl);
      return;
    }
    if (isDigit(c) || (c === Ch.Dot && isDigit(src.charCodeAt(this.pos + 1)))) {
      this.push('number', start, line, col, this.scanNumber(), ws, nl);
      return;
    }
    if (c === Ch.Quote) {
      this.push('string', start, line, col, this.scanString(), ws, nl);
      return;
    }
    if (c === Ch.Backtick) {
      this.push('string', start, line, col, this.scanRawString(), ws, nl);
      return;
    }
    const eqNext = src.charCodeAt(this.pos + 1) === Ch.Eq;
    let kind: Punct | undefined = SINGLE_CHAR_PUNCT[c];
    switch (c) {
      case Ch.Colon: kind = eqNext ? ':=' : ':'; break;
      case Ch.Eq: kind = eqNext ? '==' : '='; break;
      case Ch.Lt: kind = eqNext ? '<=' : '<'; break;
      case Ch.Gt: kind = eqNext ? '>=' : '>'; break;
      case Ch.Dot: kind = '.'; break;
      case Ch.Bang:
        if (!eqNext) this.fail("illegal '!' character: use 'not' to negate or '!=' for inequality", start);
        kind = '!=';
        break;
    }
    if (kind === undefined) this.fail(`illegal character ${describeChar(src, start)}`, start);
    this.pos += kind.length;
    this.push(kind, start, line, col, undefined, ws, nl);
  }

  /** Returns the number as JSON-compatible text (`.5` → `0.5`, `007` → `7`). */
  private scanNumber(): string {
    const src = this.src;
    const start = this.pos;
    const digits = (): number => {
      const from = this.pos;
      while (isDigit(src.charCodeAt(this.pos))) this.pos++;
      return this.pos - from;
    };
    const intDigits = digits();
    if (src.charCodeAt(this.pos) === Ch.Dot) {
      this.pos++;
      if (digits() === 0) this.fail('invalid number: expected digits after the decimal point', this.pos);
    }
    const e = src.charCodeAt(this.pos);
    if (e === Ch.LowerE || e === Ch.UpperE) {
      this.pos++;
      const sign = src.charCodeAt(this.pos);
      if (sign === Ch.Plus || sign === Ch.Minus) this.pos++;
      const expStart = this.pos;
      if (digits() === 0) this.fail('invalid number: expected digits in the exponent', this.pos);
      // Same bound as OPA: huge exponents make arbitrary-precision arithmetic pathological.
      if (Number(src.slice(expStart, this.pos)) > 30000) this.fail('number too big', start);
    }
    const after = src.charCodeAt(this.pos);
    if (isLetter(after) || isDigit(after)) this.fail(`invalid number: unexpected ${describeChar(src, this.pos)}`, this.pos);
    const text = src.slice(start, this.pos);
    if (intDigits > 1 && text.startsWith('00')) this.fail('invalid number: multiple leading zeros', start);
    if (intDigits === 0) return `0${text}`;
    return text.replace(/^0+(?=\d)/, '');
  }

  private scanString(): string {
    const src = this.src;
    const start = this.pos;
    let escaped = false;
    this.pos++;
    for (;;) {
      const c = src.charCodeAt(this.pos);
      if (Number.isNaN(c) || c === Ch.LF) this.fail(`unterminated string: expected '"' before the end of the line`, start);
      if (c === Ch.Quote) break;
      if (c < Ch.Space) this.fail('illegal control character in string (use an escape such as \\t or \\n)', this.pos);
      if (c > 0x7f) this.lineHasWide = true;
      if (c === Ch.Backslash) {
        const esc = src.charAt(this.pos + 1);
        if (!VALID_ESCAPES.has(esc)) this.fail(`illegal escape sequence '\\${esc}' in string`, this.pos);
        if (esc === 'u' && !HEX4.test(src.slice(this.pos + 2, this.pos + 6))) {
          this.fail("illegal escape sequence: '\\u' must be followed by 4 hex digits", this.pos);
        }
        this.pos += esc === 'u' ? 6 : 2;
        escaped = true;
      } else {
        this.pos++;
      }
    }
    this.pos++;
    if (!escaped) return src.slice(start + 1, this.pos - 1);
    // The text was validated above to be a JSON string literal.
    return JSON.parse(src.slice(start, this.pos)) as string;
  }

  private scanRawString(): string {
    const src = this.src;
    const start = this.pos;
    const end = src.indexOf('`', start + 1);
    if (end < 0) this.fail("unterminated raw string: expected a closing '`'", start);
    for (let i = start + 1; i < end; i++) {
      const c = src.charCodeAt(i);
      if (c === Ch.LF) {
        this.newline(i);
      } else if (c > 0x7f) {
        this.lineHasWide = true;
      }
    }
    this.pos = end + 1;
    return src.slice(start + 1, end);
  }
}

/** The line a token ends on (raw strings may span lines). */
export function tokenEndLine(tok: Token): number {
  let line = tok.line;
  for (let i = tok.text.indexOf('\n'); i >= 0; i = tok.text.indexOf('\n', i + 1)) line++;
  return line;
}

function describeChar(src: string, offset: number): string {
  const cp = src.codePointAt(offset) ?? 0;
  const shown = cp >= 0x20 && cp !== 0x7f ? `'${String.fromCodePoint(cp)}' ` : '';
  return `${shown}(U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}
