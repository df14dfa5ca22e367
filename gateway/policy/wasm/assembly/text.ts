// JSON and Rego value text: parsing from raw UTF-8 bytes in memory and
// writing into a growable NUL-terminated buffer.
//
// The value text format (opa_value_dump / opa_value_parse, and the host
// built-in wire format) is JSON plus set literals `{1,2}`, the empty set
// `set()` and non-string object keys `{1:"a"}`.
import { Value, NULL, TRUE, FALSE, K_NULL, K_BOOL, K_NUM, K_STR, K_ARR, K_OBJ, K_SET, mkNum, mkStr, mkArr, mkSet, mkObj, isInt } from "./value";
import { fail } from "./abort";

const MAX_DEPTH: i32 = 512;

class Parser {
  pos: usize;
  end: usize;
  rego: bool;
  depth: i32 = 0;
  ok: bool = true;
  constructor(pos: usize, end: usize, rego: bool) {
    this.pos = pos;
    this.end = end;
    this.rego = rego;
  }

  peek(): i32 {
    return this.pos < this.end ? <i32>load<u8>(this.pos) : -1;
  }

  ws(): void {
    while (this.pos < this.end) {
      const c = load<u8>(this.pos);
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) this.pos++;
      else break;
    }
  }

  bad(): Value {
    this.ok = false;
    return NULL;
  }

  word(w: string): bool {
    const n = w.length;
    if (this.pos + <usize>n > this.end) return false;
    for (let i = 0; i < n; i++) {
      if (<i32>load<u8>(this.pos + i) != w.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  value(): Value {
    this.ws();
    const c = this.peek();
    if (c == 0x22) return this.string();
    if (c == 0x7b) return this.objectOrSet();
    if (c == 0x5b) return this.array();
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.word("true")) return TRUE;
    if (this.word("false")) return FALSE;
    if (this.word("null")) return NULL;
    if (this.rego && this.word("set()")) return mkSet([]);
    return this.bad();
  }

  enter(): bool {
    if (++this.depth > MAX_DEPTH) { this.ok = false; return false; }
    this.pos++;
    return true;
  }

  array(): Value {
    if (!this.enter()) return NULL;
    const items = new Array<Value>(0);
    this.ws();
    if (this.peek() == 0x5d) { this.pos++; this.depth--; return mkArr(items); }
    while (this.ok) {
      items.push(this.value());
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c == 0x5d) break;
      if (c != 0x2c) return this.bad();
    }
    this.depth--;
    return mkArr(items);
  }

  objectOrSet(): Value {
    if (!this.enter()) return NULL;
    const keys = new Array<Value>(0);
    const vals = new Array<Value>(0);
    this.ws();
    if (this.peek() == 0x7d) { this.pos++; this.depth--; return mkObj(keys, vals); }
    let isSet = false;
    let first = true;
    while (this.ok) {
      const k = this.value();
      if (!this.ok) break;
      this.ws();
      if (first) {
        isSet = this.rego && this.peek() != 0x3a;
        first = false;
      }
      if (isSet) {
        keys.push(k);
      } else {
        if (!this.rego && k.kind != K_STR) return this.bad();
        if (this.peek() != 0x3a) return this.bad();
        this.pos++;
        keys.push(k);
        vals.push(this.value());
        this.ws();
      }
      const c = this.peek();
      this.pos++;
      if (c == 0x7d) break;
      if (c != 0x2c) return this.bad();
    }
    this.depth--;
    return isSet ? mkSet(keys) : mkObj(keys, vals);
  }

  number(): Value {
    const start = this.pos;
    let neg = false;
    if (this.peek() == 0x2d) { neg = true; this.pos++; }
    let digits = 0;
    let acc: f64 = 0;
    while (this.pos < this.end) {
      const c = <i32>load<u8>(this.pos);
      if (c < 0x30 || c > 0x39) break;
      acc = acc * 10 + <f64>(c - 0x30);
      digits++;
      this.pos++;
    }
    if (digits == 0) return this.bad();
    let simple = true;
    if (this.peek() == 0x2e) {
      simple = false;
      this.pos++;
      const from = this.pos;
      while (this.pos < this.end && load<u8>(this.pos) >= 0x30 && load<u8>(this.pos) <= 0x39) this.pos++;
      if (this.pos == from) return this.bad();
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      simple = false;
      this.pos++;
      const s = this.peek();
      if (s == 0x2b || s == 0x2d) this.pos++;
      const from = this.pos;
      while (this.pos < this.end && load<u8>(this.pos) >= 0x30 && load<u8>(this.pos) <= 0x39) this.pos++;
      if (this.pos == from) return this.bad();
    }
    // Up to 15 digits the accumulated integer is exact; otherwise defer to the float parser.
    if (simple && digits <= 15) return mkNum(neg ? -acc : acc);
    return mkNum(parseFloat(String.UTF8.decodeUnsafe(start, this.pos - start)));
  }

  string(): Value {
    this.pos++;
    let out = "";
    let runStart = this.pos;
    while (true) {
      if (this.pos >= this.end) return this.bad();
      const c = load<u8>(this.pos);
      if (c == 0x22) break;
      if (c < 0x20) return this.bad();
      if (c != 0x5c) { this.pos++; continue; }
      if (this.pos > runStart) out += String.UTF8.decodeUnsafe(runStart, this.pos - runStart);
      this.pos++;
      if (this.pos >= this.end) return this.bad();
      const e = load<u8>(this.pos++);
      switch (e) {
        case 0x22: out += "\""; break;
        case 0x5c: out += "\\"; break;
        case 0x2f: out += "/"; break;
        case 0x62: out += "\b"; break;
        case 0x66: out += "\f"; break;
        case 0x6e: out += "\n"; break;
        case 0x72: out += "\r"; break;
        case 0x74: out += "\t"; break;
        case 0x75: {
          const u = this.hex4();
          if (u < 0) return this.bad();
          out += String.fromCharCode(u);
          break;
        }
        default: return this.bad();
      }
      runStart = this.pos;
    }
    if (this.pos > runStart) {
      const run = String.UTF8.decodeUnsafe(runStart, this.pos - runStart);
      out = out.length == 0 ? run : out + run;
    }
    this.pos++;
    return mkStr(out);
  }

  hex4(): i32 {
    if (this.pos + 4 > this.end) return -1;
    let u = 0;
    for (let i = 0; i < 4; i++) {
      const h = <i32>load<u8>(this.pos++);
      let d: i32;
      if (h >= 0x30 && h <= 0x39) d = h - 0x30;
      else if (h >= 0x61 && h <= 0x66) d = h - 0x57;
      else if (h >= 0x41 && h <= 0x46) d = h - 0x37;
      else return -1;
      u = (u << 4) | d;
    }
    return u;
  }
}

/** Parses JSON (rego = false) or value text (rego = true); null when malformed. */
export function parseText(addr: usize, len: usize, rego: bool): Value | null {
  const p = new Parser(addr, addr + len, rego);
  const v = p.value();
  p.ws();
  if (!p.ok || p.pos != p.end) return null;
  return v;
}

/** Parses an AssemblyScript string (UTF-16) as value text. */
export function parseString(s: string, rego: bool): Value | null {
  const buf = String.UTF8.encode(s);
  return parseText(changetype<usize>(buf), <usize>buf.byteLength, rego);
}

/** A growable byte buffer for output. */
export class Writer {
  buf: usize;
  cap: usize;
  len: usize = 0;
  /** Escape <, >, &, U+2028 and U+2029 in strings, as Go's encoding/json (and so OPA's json.marshal) does. */
  goHtml: bool = false;
  constructor() {
    this.cap = 64;
    this.buf = __alloc(this.cap);
  }

  reserve(n: usize): void {
    if (this.len + n <= this.cap) return;
    let cap = this.cap << 1;
    while (cap < this.len + n) cap <<= 1;
    this.buf = __realloc(this.buf, cap);
    this.cap = cap;
  }

  byte(c: u8): void {
    this.reserve(1);
    store<u8>(this.buf + this.len++, c);
  }

  ascii(s: string): void {
    const n = <usize>s.length;
    this.reserve(n);
    for (let i: usize = 0; i < n; i++) store<u8>(this.buf + this.len + i, <u8>s.charCodeAt(<i32>i));
    this.len += n;
  }

  /** Terminates the text with NUL and returns its address. */
  finish(): usize {
    this.byte(0);
    return this.buf;
  }

  /** The text so far as a string (the buffer stays usable). */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.buf, this.len);
  }

  quoted(s: string): void {
    this.byte(0x22);
    const n = s.length;
    for (let i = 0; i < n; i++) {
      let c = <u32>s.charCodeAt(i);
      if (c == 0x22 || c == 0x5c) { this.byte(0x5c); this.byte(<u8>c); continue; }
      if (c < 0x20) { this.escapeControl(c); continue; }
      if (this.goHtml && (c == 0x3c || c == 0x3e || c == 0x26 || c == 0x2028 || c == 0x2029)) { this.unicodeEscape(c); continue; }
      if (c < 0x80) { this.byte(<u8>c); continue; }
      if (c >= 0xd800 && c < 0xe000) {
        const lo = i + 1 < n ? <u32>s.charCodeAt(i + 1) : 0;
        if (c >= 0xdc00 || lo < 0xdc00 || lo >= 0xe000) { this.unicodeEscape(c); continue; }
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
      this.reserve(4);
      if (c < 0x800) {
        this.byte(<u8>(0xc0 | (c >> 6)));
      } else if (c < 0x10000) {
        this.byte(<u8>(0xe0 | (c >> 12)));
        this.byte(<u8>(0x80 | ((c >> 6) & 0x3f)));
      } else {
        this.byte(<u8>(0xf0 | (c >> 18)));
        this.byte(<u8>(0x80 | ((c >> 12) & 0x3f)));
        this.byte(<u8>(0x80 | ((c >> 6) & 0x3f)));
      }
      this.byte(<u8>(0x80 | (c & 0x3f)));
    }
    this.byte(0x22);
  }

  /** Short escapes where JSON has them (as Go 1.22+ and JSON.stringify write them), else \u00XX. */
  escapeControl(c: u32): void {
    if (c == 0x0a) { this.ascii("\\n"); return; }
    if (c == 0x0d) { this.ascii("\\r"); return; }
    if (c == 0x09) { this.ascii("\\t"); return; }
    if (c == 0x08) { this.ascii("\\b"); return; }
    if (c == 0x0c) { this.ascii("\\f"); return; }
    this.unicodeEscape(c);
  }

  /** \uXXXX, lower-case hex: for control characters, lone surrogates (valid JSON, unlike their UTF-8 bytes) and Go's HTML-safe escapes. */
  unicodeEscape(c: u32): void {
    this.ascii("\\u");
    const hex = "0123456789abcdef";
    for (let shift = 12; shift >= 0; shift -= 4) this.byte(<u8>hex.charCodeAt(<i32>((c >> shift) & 15)));
  }

  number(n: f64): void {
    this.ascii(numberText(n));
  }

  /** Writes `v` as JSON (sets as arrays, non-string keys as their quoted text) or as value text. */
  value(v: Value, rego: bool): void {
    switch (v.kind) {
      case K_NULL: this.ascii("null"); return;
      case K_BOOL: this.ascii(v.b ? "true" : "false"); return;
      case K_NUM: this.number(v.n); return;
      case K_STR: this.quoted(v.s); return;
      case K_ARR: this.list(v.items, rego, 0x5b, 0x5d); return;
      case K_SET: {
        if (!rego) { this.list(v.items, rego, 0x5b, 0x5d); return; }
        if (v.items.length == 0) { this.ascii("set()"); return; }
        this.list(v.items, rego, 0x7b, 0x7d);
        return;
      }
      case K_OBJ: {
        this.byte(0x7b);
        const n = v.items.length;
        for (let i = 0; i < n; i++) {
          if (i > 0) this.byte(0x2c);
          const k = v.items[i];
          if (rego || k.kind == K_STR) this.value(k, rego);
          else this.quoted(dumpString(k, false));
          this.byte(0x3a);
          this.value(v.vals[i], rego);
        }
        this.byte(0x7d);
        return;
      }
      default: fail("internal_error: unknown value kind");
    }
  }

  list(items: Value[], rego: bool, open: u8, close: u8): void {
    this.byte(open);
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.value(items[i], rego);
    }
    this.byte(close);
  }
}

/** Number text as OPA writes it: integers without a fraction, other numbers shortest round-trip. */
export function numberText(n: f64): string {
  if (isInt(n)) {
    if (n == 0) return "0";
    if (Math.abs(n) < 9.0e18) return (<i64>n).toString();
    if (n > 0 && n < 1.8e19) return (<u64>n).toString();
  }
  // Non-finite numbers cannot arise from JSON or Rego; never emit invalid JSON for them.
  if (!isFinite(n)) return "null";
  const text = n.toString();
  // AssemblyScript writes big integral doubles below 1e21 as "<digits>.0"; OPA (like JavaScript) writes the digits.
  return text.endsWith(".0") ? text.substring(0, text.length - 2) : text;
}

/** Text of `v` as an AssemblyScript string. */
export function dumpString(v: Value, rego: bool): string {
  const w = new Writer();
  w.value(v, rego);
  return w.toString();
}

/** json.marshal: JSON text of `v` with Go's HTML-safe string escapes. */
export function marshalJson(v: Value): string {
  const w = new Writer();
  w.goHtml = true;
  w.value(v, false);
  return w.toString();
}

/** Text of `v` as a NUL-terminated UTF-8 string in memory. */
export function dumpAddr(v: Value, rego: bool): usize {
  const w = new Writer();
  w.value(v, rego);
  return w.finish();
}
