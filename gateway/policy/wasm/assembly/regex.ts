// regex.match inside the runtime for the RE2 syntax policies write most:
// literals, `.`, classes (ranges, negation, \d \s \w), `^` `$`, groups,
// alternation and the quantifiers * + ? {n} {n,} {n,m} (lazy forms too).
// The pattern becomes a Thompson NFA that is simulated over the subject's
// code points: time linear in pattern size times subject length, whatever
// the pattern (no backtracking, as in RE2). Anything else (flags, \b, \pL,
// POSIX classes, octal escapes, odd or invalid syntax, non-string operands)
// returns null and is left to the host built-in.
import { Value, K_STR, mkBool } from "./value";

const OP_CLASS: u8 = 0; // one code point in `ranges` (or outside them when negated)
const OP_SPLIT: u8 = 1; // continue at x and at y
const OP_JMP: u8 = 2;
const OP_BEGIN: u8 = 3; // start of text
const OP_END: u8 = 4; // end of text
const OP_MATCH: u8 = 5;

class Inst {
  op: u8 = OP_MATCH;
  x: i32 = 0;
  y: i32 = 0;
  negated: bool = false;
  /** lo, hi pairs, inclusive. */
  ranges: i32[] = [];
  /** Class membership of the 128 ASCII code points (the common case), negation applied. */
  ascii: StaticArray<u32> = new StaticArray<u32>(4);
}

const N_CLASS: u8 = 0;
const N_BEGIN: u8 = 1;
const N_END: u8 = 2;
const N_CAT: u8 = 3;
const N_ALT: u8 = 4;
const N_REPEAT: u8 = 5;

class Node {
  kind: u8 = N_CAT;
  subs: Node[] = [];
  negated: bool = false;
  ranges: i32[] = [];
  min: i32 = 0;
  /** -1: unbounded. */
  max: i32 = -1;
}

// RE2's limit on a counted repetition; larger counts are errors there.
const MAX_REPEAT: i32 = 1000;
// Bigger programs go to the host (counted repetitions expand).
const MAX_PROGRAM: i32 = 5000;

const NL: i32 = 0x0a;
const MAX_RUNE: i32 = 0x10ffff;

function classNode(ranges: i32[], negated: bool): Node {
  const n = new Node();
  n.kind = N_CLASS;
  n.ranges = ranges;
  n.negated = negated;
  return n;
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function isAsciiPunct(c: i32): bool {
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/** Perl classes as RE2 defines them (ASCII only); null for other letters. */
function perlClass(c: i32): i32[] | null {
  if (c == 0x64 || c == 0x44) return [0x30, 0x39];
  if (c == 0x73 || c == 0x53) return [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];
  if (c == 0x77 || c == 0x57) return [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
  return null;
}

/** Complement of sorted, non-overlapping ranges over 0..MAX_RUNE. */
function complement(ranges: i32[]): i32[] {
  const sorted = normalise(ranges);
  const out = new Array<i32>(0);
  let next = 0;
  for (let i = 0; i < sorted.length; i += 2) {
    if (sorted[i] > next) {
      out.push(next);
      out.push(sorted[i] - 1);
    }
    next = sorted[i + 1] + 1;
  }
  if (next <= MAX_RUNE) {
    out.push(next);
    out.push(MAX_RUNE);
  }
  return out;
}

/** Sorts range pairs by start (insertion sort: classes are short) and merges overlapping or adjacent ones. */
function normalise(ranges: i32[]): i32[] {
  const r = ranges.slice(0);
  for (let i = 2; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    let j = i - 2;
    while (j >= 0 && r[j] > lo) {
      r[j + 2] = r[j];
      r[j + 3] = r[j + 1];
      j -= 2;
    }
    r[j + 2] = lo;
    r[j + 3] = hi;
  }
  const out = new Array<i32>(0);
  for (let i = 0; i < r.length; i += 2) {
    const last = out.length - 1;
    if (last > 0 && r[i] <= out[last] + 1) {
      if (r[i + 1] > out[last]) out[last] = r[i + 1];
    } else {
      out.push(r[i]);
      out.push(r[i + 1]);
    }
  }
  return out;
}

class Parser {
  pos: i32 = 0;
  /** Set when the pattern uses syntax this matcher leaves to the host. */
  unsupported: bool = false;
  constructor(public p: string) {}

  more(): bool {
    return this.pos < this.p.length;
  }

  peek(): i32 {
    return this.p.charCodeAt(this.pos);
  }

  /** The next code point (surrogate pairs joined). */
  take(): i32 {
    const c = this.p.charCodeAt(this.pos++);
    if (c >= 0xd800 && c < 0xdc00 && this.pos < this.p.length) {
      const lo = this.p.charCodeAt(this.pos);
      if (lo >= 0xdc00 && lo < 0xe000) {
        this.pos++;
        return 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
      }
    }
    return c;
  }

  give_up(): Node {
    this.unsupported = true;
    return new Node();
  }

  alternation(): Node {
    const branches = new Array<Node>(0);
    branches.push(this.concatenation());
    while (!this.unsupported && this.more() && this.peek() == 0x7c) {
      this.pos++;
      branches.push(this.concatenation());
    }
    if (branches.length == 1) return branches[0];
    const n = new Node();
    n.kind = N_ALT;
    n.subs = branches;
    return n;
  }

  concatenation(): Node {
    const n = new Node();
    n.kind = N_CAT;
    while (!this.unsupported && this.more()) {
      const c = this.peek();
      if (c == 0x7c || c == 0x29) break;
      const atom = this.atom();
      if (this.unsupported) break;
      n.subs.push(this.quantified(atom));
    }
    return n;
  }

  /** `atom` with its quantifier, if any; a second quantifier is RE2's error. */
  quantified(atom: Node): Node {
    if (!this.more()) return atom;
    let min: i32 = 0;
    let max: i32 = -1;
    const c = this.peek();
    if (c == 0x2a) {
      this.pos++;
    } else if (c == 0x2b) {
      this.pos++;
      min = 1;
    } else if (c == 0x3f) {
      this.pos++;
      max = 1;
    } else if (c == 0x7b) {
      if (!this.counted()) return atom;
      min = this.countMin;
      max = this.countMax;
    } else {
      return atom;
    }
    if (atom.kind == N_BEGIN || atom.kind == N_END) return this.give_up();
    if (this.more() && this.peek() == 0x3f) this.pos++; // lazy: same yes/no answer
    if (this.more()) {
      const d = this.peek();
      if (d == 0x2a || d == 0x2b || d == 0x3f || d == 0x7b) return this.give_up();
    }
    const n = new Node();
    n.kind = N_REPEAT;
    n.subs = [atom];
    n.min = min;
    n.max = max;
    return n;
  }

  countMin: i32 = 0;
  countMax: i32 = 0;

  /** Parses {n}, {n,} or {n,m} at pos; anything else is left to the host. */
  counted(): bool {
    let i = this.pos + 1;
    const start = i;
    let min = 0;
    while (i < this.p.length && isDigit(this.p.charCodeAt(i))) {
      min = min * 10 + (this.p.charCodeAt(i) - 0x30);
      if (min > MAX_REPEAT) { this.unsupported = true; return false; }
      i++;
    }
    if (i == start || i >= this.p.length) { this.unsupported = true; return false; }
    let max = min;
    if (this.p.charCodeAt(i) == 0x2c) {
      i++;
      const startMax = i;
      max = 0;
      while (i < this.p.length && isDigit(this.p.charCodeAt(i))) {
        max = max * 10 + (this.p.charCodeAt(i) - 0x30);
        if (max > MAX_REPEAT) { this.unsupported = true; return false; }
        i++;
      }
      if (i == startMax) max = -1;
    }
    if (i >= this.p.length || this.p.charCodeAt(i) != 0x7d || (max >= 0 && max < min)) { this.unsupported = true; return false; }
    this.pos = i + 1;
    this.countMin = min;
    this.countMax = max;
    return true;
  }

  atom(): Node {
    const c = this.peek();
    if (c == 0x28) return this.group();
    if (c == 0x5b) return this.bracket();
    if (c == 0x2e) {
      this.pos++;
      return classNode([NL, NL], true);
    }
    if (c == 0x5e) {
      this.pos++;
      const n = new Node();
      n.kind = N_BEGIN;
      return n;
    }
    if (c == 0x24) {
      this.pos++;
      const n = new Node();
      n.kind = N_END;
      return n;
    }
    if (c == 0x2a || c == 0x2b || c == 0x3f || c == 0x7b || c == 0x29 || c == 0x5d) return this.give_up();
    if (c == 0x5c) {
      this.pos++;
      if (!this.more()) return this.give_up();
      const e = this.peek();
      const perl = perlClass(e);
      if (perl !== null) {
        this.pos++;
        return classNode(perl, e < 0x61);
      }
      const r = this.escape();
      return r < 0 ? this.give_up() : classNode([r, r], false);
    }
    const r = this.take();
    return classNode([r, r], false);
  }

  /** The code point of a single-character escape after `\` (pos at its letter); -1 when unsupported. */
  escape(): i32 {
    const e = this.take();
    if (e < 0x80 && isAsciiPunct(e)) return e;
    if (e == 0x6e) return 0x0a;
    if (e == 0x74) return 0x09;
    if (e == 0x72) return 0x0d;
    if (e == 0x66) return 0x0c;
    if (e == 0x76) return 0x0b;
    if (e == 0x61) return 0x07;
    if (e == 0x78) return this.hexEscape();
    return -1;
  }

  /** \xHH or \x{H...}: the code point, -1 when malformed. */
  hexEscape(): i32 {
    if (!this.more()) return -1;
    if (this.peek() == 0x7b) {
      this.pos++;
      let v = 0;
      let digits = 0;
      while (this.more() && this.peek() != 0x7d) {
        const h = hexValue(this.peek());
        if (h < 0) return -1;
        v = v * 16 + h;
        if (v > MAX_RUNE) return -1;
        digits++;
        this.pos++;
      }
      if (!this.more() || digits == 0) return -1;
      this.pos++;
      return v;
    }
    if (this.pos + 1 >= this.p.length) return -1;
    const hi = hexValue(this.p.charCodeAt(this.pos));
    const lo = hexValue(this.p.charCodeAt(this.pos + 1));
    if (hi < 0 || lo < 0) return -1;
    this.pos += 2;
    return hi * 16 + lo;
  }

  group(): Node {
    this.pos++;
    if (this.more() && this.peek() == 0x3f) {
      // (?:...) and named groups; flags and everything else go to the host.
      const rest = this.p.substring(this.pos);
      if (rest.startsWith("?:")) this.pos += 2;
      else if (rest.startsWith("?P<") || rest.startsWith("?<")) {
        const close = this.p.indexOf(">", this.pos);
        if (close < 0) return this.give_up();
        for (let i = this.pos + (rest.startsWith("?P<") ? 3 : 2); i < close; i++) {
          const ch = this.p.charCodeAt(i);
          if (!(isDigit(ch) || (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a) || ch == 0x5f)) return this.give_up();
        }
        this.pos = close + 1;
      } else return this.give_up();
    }
    const inner = this.alternation();
    if (this.unsupported || !this.more() || this.peek() != 0x29) return this.give_up();
    this.pos++;
    return inner;
  }

  /** [...] classes: ranges, escapes and Perl classes; POSIX classes go to the host. */
  bracket(): Node {
    this.pos++;
    let negated = false;
    if (this.more() && this.peek() == 0x5e) {
      negated = true;
      this.pos++;
    }
    const ranges = new Array<i32>(0);
    let first = true;
    while (true) {
      if (!this.more()) return this.give_up();
      const c = this.peek();
      if (c == 0x5d && !first) break;
      first = false;
      if (c == 0x5b && this.pos + 1 < this.p.length && this.p.charCodeAt(this.pos + 1) == 0x3a) return this.give_up();
      let lo: i32;
      if (c == 0x5c) {
        this.pos++;
        if (!this.more()) return this.give_up();
        const perl = perlClass(this.peek());
        if (perl !== null) {
          const upper = this.peek() < 0x61;
          this.pos++;
          const add = upper ? complement(perl) : perl;
          for (let i = 0; i < add.length; i++) ranges.push(add[i]);
          continue;
        }
        lo = this.escape();
        if (lo < 0) return this.give_up();
      } else {
        lo = this.take();
      }
      let hi = lo;
      if (this.pos + 1 < this.p.length && this.peek() == 0x2d && this.p.charCodeAt(this.pos + 1) != 0x5d) {
        this.pos++;
        if (this.peek() == 0x5c) {
          this.pos++;
          if (!this.more() || perlClass(this.peek()) !== null) return this.give_up();
          hi = this.escape();
          if (hi < 0) return this.give_up();
        } else {
          hi = this.take();
        }
        if (hi < lo) return this.give_up();
      }
      ranges.push(lo);
      ranges.push(hi);
    }
    this.pos++;
    return classNode(normalise(ranges), negated);
  }
}

class Compiler {
  prog: Inst[] = [];
  tooBig: bool = false;

  emit(op: u8): i32 {
    const i = new Inst();
    i.op = op;
    this.prog.push(i);
    if (this.prog.length > MAX_PROGRAM) this.tooBig = true;
    return this.prog.length - 1;
  }

  node(n: Node): void {
    if (this.tooBig) return;
    switch (n.kind) {
      case N_CLASS: {
        const inst = this.prog[this.emit(OP_CLASS)];
        inst.ranges = n.ranges;
        inst.negated = n.negated;
        for (let c = 0; c < 128; c++) if (classHas(inst, c)) inst.ascii[c >> 5] |= 1 << (c & 31);
        return;
      }
      case N_BEGIN: this.emit(OP_BEGIN); return;
      case N_END: this.emit(OP_END); return;
      case N_CAT: {
        for (let i = 0; i < n.subs.length; i++) this.node(n.subs[i]);
        return;
      }
      case N_ALT: {
        const jumps = new Array<i32>(0);
        for (let i = 0; i < n.subs.length - 1; i++) {
          const split = this.emit(OP_SPLIT);
          this.prog[split].x = split + 1;
          this.node(n.subs[i]);
          jumps.push(this.emit(OP_JMP));
          this.prog[split].y = this.prog.length;
        }
        this.node(n.subs[n.subs.length - 1]);
        for (let i = 0; i < jumps.length; i++) this.prog[jumps[i]].x = this.prog.length;
        return;
      }
      default: this.repeat(n);
    }
  }

  repeat(n: Node): void {
    const sub = n.subs[0];
    for (let i = 0; i < n.min; i++) this.node(sub);
    if (n.max < 0) {
      const split = this.emit(OP_SPLIT);
      this.prog[split].x = split + 1;
      this.node(sub);
      const back = this.emit(OP_JMP);
      this.prog[back].x = split;
      this.prog[split].y = this.prog.length;
      return;
    }
    // Up to max - min optional copies, each skipping to the end.
    const splits = new Array<i32>(0);
    for (let i = n.min; i < n.max && !this.tooBig; i++) {
      const split = this.emit(OP_SPLIT);
      this.prog[split].x = split + 1;
      splits.push(split);
      this.node(sub);
    }
    for (let i = 0; i < splits.length; i++) this.prog[splits[i]].y = this.prog.length;
  }
}

function classHasFast(inst: Inst, c: i32): bool {
  if (c < 128) return ((unchecked(inst.ascii[c >> 5]) >> (c & 31)) & 1) != 0;
  return classHas(inst, c);
}

function classHas(inst: Inst, c: i32): bool {
  const r = inst.ranges;
  let inside = false;
  for (let i = 0; i < r.length; i += 2) {
    if (c < r[i]) break;
    if (c <= r[i + 1]) {
      inside = true;
      break;
    }
  }
  return inside != inst.negated;
}

/**
 * A compiled pattern and its Thompson simulation state: thread lists of
 * program counters, with one generation mark per program counter and step
 * so that each is added at most once per step.
 */
//
// Program counters come from the compiled program (every target and pc + 1
// is inside it: it ends with OP_MATCH), so the hot loop reads unchecked.
class Program {
  marks: StaticArray<i32>;
  gen: i32 = 0;
  /** Starts with `^`: a match can only begin at the start of the text. */
  anchored: bool;
  insts: StaticArray<Inst>;
  /** The class instructions a match starting inside the text (not at either end) begins with. */
  starts: StaticArray<i32> = new StaticArray<i32>(0);
  /** ASCII code points that can begin such a match, and whether any other code point can. */
  startAscii: StaticArray<u32> = new StaticArray<u32>(4);
  startNonAscii: bool = false;

  constructor(insts: Inst[]) {
    this.insts = StaticArray.fromArray<Inst>(insts);
    this.marks = new StaticArray<i32>(insts.length).fill(-1);
    this.anchored = insts.length > 0 && insts[0].op == OP_BEGIN;
    const starts = new Array<i32>(0);
    this.nextGeneration();
    // Position 1 of a 2-unit text: neither ^ nor $ holds there.
    this.add(starts, 0, 1, 2);
    this.starts = StaticArray.fromArray<i32>(starts);
    for (let i = 0; i < starts.length; i++) {
      const inst = insts[starts[i]];
      for (let w = 0; w < 4; w++) this.startAscii[w] |= inst.ascii[w];
      if (inst.negated || inst.ranges.length == 0 || inst.ranges[inst.ranges.length - 1] >= 128) this.startNonAscii = true;
    }
  }

  nextGeneration(): void {
    if (++this.gen == i32.MAX_VALUE) {
      // Never let a stale mark equal a new generation.
      this.marks.fill(-1);
      this.gen = 0;
    }
  }

  /** Adds `pc` and what it reaches without consuming input; true when that reaches a match. */
  add(list: i32[], pc: i32, at: i32, end: i32): bool {
    if (unchecked(this.marks[pc]) == this.gen) return false;
    unchecked(this.marks[pc] = this.gen);
    const inst = unchecked(this.insts[pc]);
    switch (inst.op) {
      case OP_MATCH: return true;
      case OP_JMP: return this.add(list, inst.x, at, end);
      case OP_SPLIT: return this.add(list, inst.x, at, end) || this.add(list, inst.y, at, end);
      case OP_BEGIN: return at == 0 && this.add(list, pc + 1, at, end);
      case OP_END: return at == end && this.add(list, pc + 1, at, end);
    }
    list.push(pc);
    return false;
  }

  /** Whether code unit `c` can begin a match inside the text. */
  canStart(c: i32): bool {
    if (c < 128) return ((unchecked(this.startAscii[c >> 5]) >> (c & 31)) & 1) != 0;
    return this.startNonAscii;
  }

  /** Whether the pattern matches anywhere in `s` (code point by code point). */
  matches(s: string): bool {
    const n = s.length;
    let current = new Array<i32>(0);
    let next = new Array<i32>(0);
    this.nextGeneration();
    if (this.add(current, 0, 0, n)) return true;
    let at = 0;
    while (at < n) {
      if (current.length == 0) {
        if (this.anchored) return false;
        // No thread alive: skip to where a match could begin (or to the end, where $ may hold).
        while (at < n && !this.canStart(<i32>s.charCodeAt(at))) at++;
        if (at == n) {
          this.nextGeneration();
          return this.add(next, 0, n, n);
        }
        this.nextGeneration();
        if (at > 0) this.addStarts(current);
      }
      let c = <i32>s.charCodeAt(at);
      at++;
      if (c >= 0xd800 && c < 0xdc00 && at < n) {
        const lo = <i32>s.charCodeAt(at);
        if (lo >= 0xdc00 && lo < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          at++;
        }
      }
      this.nextGeneration();
      next.length = 0;
      for (let i = 0; i < current.length; i++) {
        const pc = unchecked(current[i]);
        if (classHasFast(unchecked(this.insts[pc]), c) && this.add(next, pc + 1, at, n)) return true;
      }
      // Unanchored search: a match may also start here.
      if (!this.anchored) {
        if (at == n) {
          if (this.add(next, 0, at, n)) return true;
        } else this.addStarts(next);
      }
      const t = current;
      current = next;
      next = t;
    }
    return false;
  }

  /** Threads of a match beginning inside the text (the start closure, precomputed). */
  addStarts(list: i32[]): void {
    const starts = this.starts;
    for (let i = 0; i < starts.length; i++) {
      const pc = unchecked(starts[i]);
      if (unchecked(this.marks[pc]) != this.gen) {
        unchecked(this.marks[pc] = this.gen);
        list.push(pc);
      }
    }
  }
}

/** The program for `pattern`, or null when the host must handle it. */
function compilePattern(pattern: string): Program | null {
  const parser = new Parser(pattern);
  const tree = parser.alternation();
  if (parser.unsupported || parser.more()) return null;
  const compiler = new Compiler();
  compiler.node(tree);
  compiler.emit(OP_MATCH);
  return compiler.tooBig ? null : new Program(compiler.prog);
}

// Compiled patterns (null: left to the host) by pattern text: the plan's
// constant patterns, compiled at instantiation, then patterns met during
// evaluations (from data, say), compiled into the arena so that they outlive
// the evaluation. Past the cap, or when the arena is full, a pattern is
// compiled per call.
const patterns = new Map<string, Program | null>();
const MAX_PATTERNS: i32 = 64;
// Room for the key's copy and the map's growth, beyond the compilation itself.
const ARENA_SLACK: usize = 8192;
/** Arena reserved when the plan has regex.match calls with non-constant patterns. */
export const REGEX_ARENA_BYTES: usize = 256 << 10;

/** At instantiation, outside any evaluation: the allocation persists as is. */
export function precompileRegex(pattern: string): void {
  if (!patterns.has(pattern)) patterns.set(pattern, compilePattern(pattern));
}

function copyString(s: string): string {
  return String.UTF16.decodeUnsafe(changetype<usize>(s), <usize>s.length << 1);
}

function compileAndKeep(pattern: string): Program | null {
  const before = heapGet();
  const prog = compilePattern(pattern);
  const used = heapGet() - before;
  if (patterns.size >= MAX_PATTERNS || arenaRoom() < used + (<usize>pattern.length << 1) + ARENA_SLACK) return prog;
  // The same compilation again makes the same allocations, now in the arena.
  arenaEnter();
  const kept = compilePattern(pattern);
  patterns.set(copyString(pattern), kept);
  arenaLeave();
  return kept;
}

/** regex.match(pattern, value) for supported patterns; null when the host must decide. */
export function regexMatchNative(args: Value[]): Value | null {
  if (args.length != 2 || args[0].kind != K_STR || args[1].kind != K_STR) return null;
  const pattern = args[0].s;
  const prog = patterns.has(pattern) ? patterns.get(pattern) : compileAndKeep(pattern);
  if (prog === null) return null;
  return mkBool(prog.matches(args[1].s));
}
