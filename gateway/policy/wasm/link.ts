/**
 * The linker: turns a plan into a loadable OPA-ABI module by embedding the
 * plan's JSON into the prebuilt runtime (runtime.wasm, built from ./assembly
 * by scripts/build-runtime.mjs).
 *
 * It appends one active data segment holding the JSON at the runtime's heap
 * base and patches the two exported globals `portcullis_plan_addr` and
 * `portcullis_plan_len` (recognised by their sentinel initial values) with its
 * address and length. The runtime decodes the plan in its start function and
 * starts its heap above it. The memory import's minimum grows to cover the
 * segment (see requiredMemoryPages).
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Plan } from '../compiler/ir.js';
import { INPUT_PATHS_SECTION, inputRecord } from '../compiler/input-paths.js';

const PLAN_ADDR_SENTINEL = 0x504c4e41;
const PLAN_LEN_SENTINEL = 0x504c4e4c;
const PAGE = 65536;

const SEC_IMPORT = 2;
const SEC_GLOBAL = 6;
const SEC_DATA = 11;
const SEC_DATACOUNT = 12;

export class LinkError extends Error {
  override name = 'LinkError';
}

// Node provides WebAssembly, but the project's lib settings (no DOM) do not declare it.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

let cachedRuntime: { bytes: Uint8Array; heapBase: number } | undefined;

/** runtime.wasm next to the compiled linker (dist/), or in dist/ when running from source. */
function runtimePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'runtime.wasm');
  if (existsSync(beside)) return beside;
  return path.resolve(here, '../../../dist/gateway/policy/wasm/runtime.wasm');
}

function loadRuntime(): { bytes: Uint8Array; heapBase: number } {
  if (cachedRuntime) return cachedRuntime;
  const file = runtimePath();
  if (!existsSync(file)) throw new LinkError(`policy runtime not built: ${file} is missing (run npm run build)`);
  const bytes = new Uint8Array(readFileSync(file));
  cachedRuntime = { bytes, heapBase: readHeapBase(bytes) };
  return cachedRuntime;
}

/**
 * The heap base is only known to the compiler, which initialises the exported
 * `portcullis_heap_base` global in the start function: run the unlinked
 * runtime once (it does nothing else without a plan) and read it.
 */
function readHeapBase(bytes: Uint8Array): number {
  const module = new WebAssembly.Module(bytes);
  const memory = new WebAssembly.Memory({ initial: requiredMemoryPages(bytes) });
  const fail = (): never => { throw new LinkError('the unlinked runtime called an import during start'); };
  const instance = new WebAssembly.Instance(module, {
    env: { memory, opa_abort: fail, opa_println: fail, opa_builtin0: fail, opa_builtin1: fail, opa_builtin2: fail, opa_builtin3: fail, opa_builtin4: fail },
  });
  const g = instance.exports['portcullis_heap_base'];
  if (typeof g !== 'object' || g === null || !('value' in g)) throw new LinkError('runtime does not export portcullis_heap_base');
  return Number(g.value);
}

/**
 * Links `plan` into the runtime; the result loads with @open-policy-agent/opa-wasm.
 * A custom section records which input paths the plan can read and whether it is
 * pure (see input-paths.ts), unless it may read all of input.
 */
export function emitModule(plan: Plan): Uint8Array {
  const runtime = loadRuntime();
  const linked = linkPlanJson(runtime.bytes, runtime.heapBase, new TextEncoder().encode(JSON.stringify(plan)));
  const record = inputRecord(plan);
  return record === null ? linked : appendCustomSection(linked, INPUT_PATHS_SECTION, new TextEncoder().encode(JSON.stringify(record)));
}

/** `module` with a custom section appended (valid at the end of any module; engines ignore unknown ones). */
function appendCustomSection(module: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const body = Uint8Array.from([...u32(nameBytes.length), ...nameBytes, ...payload]);
  const out = new Uint8Array(module.length + 1 + u32(body.length).length + body.length);
  out.set(module, 0);
  out.set([0, ...u32(body.length)], module.length);
  out.set(body, out.length - body.length);
  return out;
}

// ---- Binary reading/writing -------------------------------------------------

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, pos = 0) {
    this.pos = pos;
  }
  byte(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new LinkError('runtime module is truncated');
    return b;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new LinkError('malformed LEB128');
    }
  }
  s32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (shift < 32 && b & 0x40) result |= -1 << shift;
    return result;
  }
  skip(n: number): void {
    this.pos += n;
  }
  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  /** Skips a constant expression (up to and including its `end`). */
  constExpr(): void {
    for (;;) {
      const op = this.byte();
      if (op === 0x0b) return;
      if (op === 0x41 || op === 0x23) this.s32();
      else if (op === 0x42) this.s64();
      else if (op === 0x44) this.skip(8);
      else if (op === 0x43) this.skip(4);
      else if (op === 0xd2) this.u32();
      else if (op === 0xd0) this.byte();
      else throw new LinkError(`unsupported opcode 0x${op.toString(16)} in constant expression`);
    }
  }
  s64(): void {
    while (this.byte() & 0x80) { /* continuation bytes */ }
  }
}

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function s32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

interface Section { id: number; body: Uint8Array }

function sections(bytes: Uint8Array): Section[] {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) throw new LinkError('not a WebAssembly module');
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    if (r.pos + size > bytes.length) throw new LinkError('runtime module is truncated');
    out.push({ id, body: bytes.subarray(r.pos, r.pos + size) });
    r.skip(size);
  }
  return out;
}

function assemble(secs: Section[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])];
  for (const s of secs) parts.push(Uint8Array.from([s.id, ...u32(s.body.length)]), s.body);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Where the memory import's limits are encoded, and their values. */
interface MemoryImport { min: number; minAt: number; minEnd: number; max: number | undefined }

function memoryImport(body: Uint8Array): MemoryImport | undefined {
  const r = new Reader(body);
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    r.name();
    r.name();
    const kind = r.byte();
    if (kind === 0) r.u32();
    else if (kind === 1) { r.byte(); limits(r); }
    else if (kind === 2) {
      const flags = r.byte();
      const minAt = r.pos;
      const min = r.u32();
      const minEnd = r.pos;
      const max = flags & 1 ? r.u32() : undefined;
      return { min, minAt, minEnd, max };
    } else if (kind === 3) { r.byte(); r.byte(); }
    else throw new LinkError(`unknown import kind ${kind}`);
  }
  return undefined;
}

function limits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

/** Memory pages the module's memory import requires (pass at least this to loadPolicy). */
export function requiredMemoryPages(bytes: Uint8Array): number {
  const imp = sections(bytes).find((s) => s.id === SEC_IMPORT);
  const mem = imp && memoryImport(imp.body);
  if (!mem) throw new LinkError('module does not import its memory');
  return mem.min;
}

/** The global section with the two sentinel globals' initialisers replaced. */
function patchGlobals(body: Uint8Array, addr: number, len: number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const out: number[] = [...u32(n)];
  let patched = 0;
  for (let i = 0; i < n; i++) {
    const start = r.pos;
    const type = r.byte();
    const mutable = r.byte();
    const exprAt = r.pos;
    r.constExpr();
    const expr = body.subarray(exprAt, r.pos);
    let replacement: number | undefined;
    if (type === 0x7f && mutable === 1 && expr[0] === 0x41) {
      const value = new Reader(expr, 1).s32();
      if (value === PLAN_ADDR_SENTINEL) replacement = addr;
      else if (value === PLAN_LEN_SENTINEL) replacement = len;
    }
    if (replacement === undefined) {
      out.push(...body.subarray(start, r.pos));
    } else {
      out.push(type, mutable, 0x41, ...s32(replacement), 0x0b);
      patched++;
    }
  }
  if (patched !== 2) throw new LinkError('runtime has no unlinked plan globals (already linked?)');
  return Uint8Array.from(out);
}

function appendSegment(body: Uint8Array | undefined, addr: number, data: Uint8Array): { body: Uint8Array; count: number } {
  let count = 0;
  let rest: Uint8Array = new Uint8Array(0);
  if (body) {
    const r = new Reader(body);
    count = r.u32();
    rest = body.subarray(r.pos);
  }
  const segment = [0x00, 0x41, ...s32(addr), 0x0b, ...u32(data.length)];
  const out = new Uint8Array(u32(count + 1).length + rest.length + segment.length + data.length);
  let at = 0;
  for (const b of u32(count + 1)) out[at++] = b;
  out.set(rest, at);
  at += rest.length;
  out.set(segment, at);
  at += segment.length;
  out.set(data, at);
  return { body: out, count: count + 1 };
}

function patchMemoryMin(body: Uint8Array, mem: MemoryImport, pages: number): Uint8Array {
  if (mem.max !== undefined && mem.max < pages) throw new LinkError(`plan needs ${pages} memory pages, above the maximum ${mem.max}`);
  return Uint8Array.from([...body.subarray(0, mem.minAt), ...u32(pages), ...body.subarray(mem.minEnd)]);
}

/** Embeds `planJson` into `runtime` at the first 16-byte boundary at or above `heapBase`. */
export function linkPlanJson(runtime: Uint8Array, heapBase: number, planJson: Uint8Array): Uint8Array {
  const addr = Math.ceil(heapBase / 16) * 16;
  const end = addr + planJson.length;
  if (end >= 2 ** 31) throw new LinkError('plan is too large');
  const secs = sections(runtime);
  const out: Section[] = [];
  let sawData = false;
  for (const s of secs) {
    switch (s.id) {
      case SEC_IMPORT: {
        const mem = memoryImport(s.body);
        if (!mem) throw new LinkError('runtime does not import its memory');
        const pages = Math.ceil(end / PAGE);
        out.push({ id: s.id, body: pages > mem.min ? patchMemoryMin(s.body, mem, pages) : s.body });
        break;
      }
      case SEC_GLOBAL:
        out.push({ id: s.id, body: patchGlobals(s.body, addr, planJson.length) });
        break;
      case SEC_DATACOUNT: {
        const n = new Reader(s.body).u32();
        out.push({ id: s.id, body: Uint8Array.from(u32(n + 1)) });
        break;
      }
      case SEC_DATA:
        out.push({ id: s.id, body: appendSegment(s.body, addr, planJson).body });
        sawData = true;
        break;
      default:
        out.push(s);
    }
  }
  if (!sawData) {
    // Sections are ordered by id except custom sections (0): the data section goes before trailing custom ones.
    const at = out.findIndex((s, i) => i > 0 && s.id === 0 && out.slice(i).every((t) => t.id === 0));
    const data = { id: SEC_DATA, body: appendSegment(undefined, addr, planJson).body };
    if (at < 0) out.push(data);
    else out.splice(at, 0, data);
  }
  return assemble(out);
}
