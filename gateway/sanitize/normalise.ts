/**
 * Normalised views of a text, for the detectors: what a secret reads as once
 * invisible format characters are dropped, compatibility forms folded (NFKC)
 * and percent-encoding undone; and the long base64 and hex runs in it,
 * decoded. Every view character remembers the span of the original text it
 * came from, so a secret found in a view is replaced in the original.
 */

/** A view of a source text: `from[i]`..`to[i]` is the source span of view unit i (the unit itself when absent). */
export interface View {
  text: string;
  from?: Int32Array;
  to?: Int32Array;
}

/** Where view unit `i` starts in the source. */
export function sourceStart(view: View, i: number): number {
  return view.from === undefined ? i : (view.from[i] as number);
}

/** Where view unit `i` ends in the source (exclusive). */
export function sourceEnd(view: View, i: number): number {
  return view.to === undefined ? i + 1 : (view.to[i] as number);
}

/** A base64 or hex run of the view, decoded to text. */
export interface DecodedRun {
  /** Source span of the whole run. */
  start: number;
  end: number;
  text: string;
}

/** Percent-decoding rounds: a secret encoded twice (%252D) is still found. */
const PERCENT_ROUNDS = 3;
/** Shortest run worth decoding: 15 bytes, shorter than any secret a detector knows. */
const MIN_BASE64 = 20;
const MIN_HEX = 32;

// Format characters (zero-width, bidi, tags, soft hyphen...) and the other default-ignorable ones (variation selectors).
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
/** One non-ASCII code point at a time. */
const NON_ASCII = /[^\x00-\x7f]/gu;
const HEX_DIGIT = '0123456789abcdef';
const HAS_PERCENT = /%[0-9A-Fa-f]{2}/;
const BASE64_RUN = new RegExp(`[A-Za-z0-9+/_-]{${MIN_BASE64},}={0,2}`, 'g');
const HEX = /^[0-9A-Fa-f]+$/;
/** Cheap tests: without a match, the view or the runs would equal the text, or be empty. */
const NEEDS_VIEW = /%[0-9A-Fa-f]{2}|[^\x00-\x7f]/;
const HAS_RUN = new RegExp(`[A-Za-z0-9+/_-]{${MIN_BASE64}}`);

const lenientUtf8 = new TextDecoder('utf-8');

/** Units turned into a string per chunk: fromCharCode takes them as arguments. */
const CHUNK = 8192;

/** Builds a view: its UTF-16 units and their spans in typed arrays that grow by doubling. */
class ViewBuilder {
  private units: Uint16Array;
  private from: Int32Array;
  private to: Int32Array;
  private length = 0;

  constructor(sizeHint: number) {
    const size = Math.max(16, sizeHint);
    this.units = new Uint16Array(size);
    this.from = new Int32Array(size);
    this.to = new Int32Array(size);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.units.length) return;
    const size = Math.max(this.units.length * 2, this.length + n);
    const grow = <T extends Uint16Array | Int32Array>(old: T, next: T): T => {
      next.set(old.subarray(0, this.length));
      return next;
    };
    this.units = grow(this.units, new Uint16Array(size));
    this.from = grow(this.from, new Int32Array(size));
    this.to = grow(this.to, new Int32Array(size));
  }

  /** Appends `text`, every unit of it standing for view units first..last of `source`. */
  push(text: string, source: View, first: number, last: number): void {
    this.reserve(text.length);
    const from = sourceStart(source, first);
    const to = sourceEnd(source, last);
    for (let i = 0; i < text.length; i++, this.length++) {
      this.units[this.length] = text.charCodeAt(i);
      this.from[this.length] = from;
      this.to[this.length] = to;
    }
  }

  /** Appends view units start..end of `source` unchanged. */
  copy(source: View, start: number, end: number): void {
    this.reserve(end - start);
    for (let i = start; i < end; i++, this.length++) {
      this.units[this.length] = source.text.charCodeAt(i);
      this.from[this.length] = sourceStart(source, i);
      this.to[this.length] = sourceEnd(source, i);
    }
  }

  build(): View {
    const chunks: string[] = [];
    for (let i = 0; i < this.length; i += CHUNK) chunks.push(String.fromCharCode(...this.units.subarray(i, Math.min(i + CHUNK, this.length))));
    return { text: chunks.join(''), from: this.from.subarray(0, this.length), to: this.to.subarray(0, this.length) };
  }
}

/** Invisible characters dropped, every other non-ASCII code point in its NFKC form. */
function foldCharacters(view: View): View | undefined {
  // One native pass each decides for most text (accented letters, CJK, emoji) that nothing changes.
  if (!INVISIBLE.test(view.text) && view.text.normalize('NFKC') === view.text) return undefined;
  const out = new ViewBuilder(view.text.length);
  let at = 0;
  for (const m of view.text.matchAll(NON_ASCII)) {
    const ch = m[0];
    const folded = INVISIBLE.test(ch) ? '' : ch.normalize('NFKC');
    if (folded === ch) continue;
    out.copy(view, at, m.index);
    out.push(folded, view, m.index, m.index + ch.length - 1);
    at = m.index + ch.length;
  }
  // Only composition differed (e + U+0301): one character at a time, nothing changes.
  if (at === 0) return undefined;
  out.copy(view, at, view.text.length);
  return out.build();
}

/** The byte %XX at `i` stands for, or -1 when `i` does not start one. */
function percentByte(text: string, i: number): number {
  if (text.charCodeAt(i) !== 0x25 || i + 2 >= text.length) return -1;
  const hi = HEX_DIGIT.indexOf((text[i + 1] as string).toLowerCase());
  const lo = HEX_DIGIT.indexOf((text[i + 2] as string).toLowerCase());
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/**
 * Every %XX decoded, a UTF-8 sequence of them as one character (so each
 * character keeps its own source span). Scanned by hand: a regex match and a
 * buffer per escape cost far more on a text that is all escapes.
 */
function percentDecode(view: View): View | undefined {
  const text = view.text;
  if (!HAS_PERCENT.test(text)) return undefined;
  const out = new ViewBuilder(view.text.length);
  let at = 0;
  for (let i = text.indexOf('%'); i !== -1; i = text.indexOf('%', i)) {
    const lead = percentByte(text, i);
    if (lead < 0) {
      i += 1;
      continue;
    }
    out.copy(view, at, i);
    const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    const bytes = [lead];
    let end = i + 3;
    while (bytes.length < size) {
      const next = percentByte(text, end);
      if (next < 0) break;
      bytes.push(next);
      end += 3;
    }
    const decoded = size === 1 ? String.fromCharCode(lead) : lenientUtf8.decode(Uint8Array.from(bytes));
    out.push(decoded, view, i, end - 1);
    i = at = end;
  }
  out.copy(view, at, text.length);
  return out.build();
}

/**
 * The text as the detectors should also see it, or undefined when that is
 * the text itself (most text: ASCII without a %XX).
 */
export function normalisedView(text: string): View | undefined {
  if (!NEEDS_VIEW.test(text)) return undefined;
  let view: View = { text };
  let changed = false;
  for (let round = 0; round < PERCENT_ROUNDS; round++) {
    const folded = foldCharacters(view);
    const decoded = percentDecode(folded ?? view);
    if (folded === undefined && decoded === undefined) break;
    view = decoded ?? folded ?? view;
    changed = true;
  }
  return changed ? view : undefined;
}

/**
 * Whether `bytes` are readable UTF-8 text: well-formed sequences, no C0
 * control but tab and line breaks, no DEL or C1. A check by hand: a decoder
 * that throws costs more than the rare text that passes. `cut`: the bytes are
 * a prefix, so a sequence may be cut short at the end.
 */
function readableBytes(bytes: Uint8Array, cut = false): boolean {
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i] as number;
    if (c < 0x80) {
      if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return false;
      i += 1;
      continue;
    }
    const more = c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (more < 0) return false;
    if (c === 0xc2 && i + 1 < bytes.length && (bytes[i + 1] as number) < 0xa0) return false; // C1 controls
    for (let k = 1; k <= more; k++) {
      if (i + k >= bytes.length) return cut;
      if (((bytes[i + k] as number) & 0xc0) !== 0x80) return false;
    }
    i += more + 1;
  }
  return true;
}

/**
 * A run decoded: hex when it is all hex digits, else base64 (either alphabet).
 * Text glued to the front can shift the run off the encoding's alignment, so
 * each offset is tried; a prefix is decoded first so binary data (images)
 * is given up after a few bytes.
 */
function decodeRun(run: string): string | undefined {
  const hex = HEX.test(run) && run.length >= MIN_HEX;
  const decode = (s: string): Buffer => (hex ? Buffer.from(s.slice(0, s.length - (s.length % 2)), 'hex') : Buffer.from(s, 'base64'));
  for (const offset of hex ? [0, 1] : [0, 1, 2, 3]) {
    const body = run.slice(offset);
    // A prefix first: binary data (an image) is given up after a few bytes.
    if (!readableBytes(decode(body.slice(0, 64)), true)) continue;
    const bytes = decode(body);
    if (readableBytes(bytes)) return bytes.toString('utf8');
  }
  return undefined;
}

/** The base64 and hex runs of a view that decode to readable text, with their source spans. */
export function decodedRuns(view: View): DecodedRun[] {
  if (!HAS_RUN.test(view.text)) return [];
  const runs: DecodedRun[] = [];
  for (const m of view.text.matchAll(BASE64_RUN)) {
    const text = decodeRun(m[0]);
    if (text === undefined) continue;
    runs.push({ start: sourceStart(view, m.index), end: sourceEnd(view, m.index + m[0].length - 1), text });
  }
  return runs;
}
