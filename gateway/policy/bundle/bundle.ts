/**
 * OPA bundles (.tar.gz) for the WebAssembly target: `/policy.wasm`,
 * `/data.json` files, `/.manifest` (revision, wasm entrypoints) and optionally
 * `/.signatures.json`. Same layout as `opa build -t wasm`, so bundles built by
 * the real OPA load here and ours load there.
 *
 * Reading is synchronous and bounded (compressed and uncompressed size, number
 * of entries); anything unexpected is a BundleError.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import { parse as parseYaml } from 'yaml';

export const MANIFEST_FILE = '.manifest';
export const SIGNATURES_FILE = '.signatures.json';
export const DEFAULT_WASM_FILE = 'policy.wasm';

export interface BundleManifest {
  revision?: string;
  roots?: string[];
  wasm?: Array<{ entrypoint: string; module: string }>;
  rego_version?: number;
  metadata?: Record<string, unknown>;
}

export interface Bundle {
  /** Every regular file, by name without a leading slash (e.g. "policy.wasm", "a/b/data.json"). */
  files: Map<string, Uint8Array>;
  manifest: BundleManifest;
  /** Base documents merged from every data.json / data.yaml at their directory's path. */
  data: Record<string, unknown>;
}

export interface BundleLimits {
  maxCompressedBytes: number;
  maxUncompressedBytes: number;
  maxEntries: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  maxCompressedBytes: 32 * 1024 * 1024,
  maxUncompressedBytes: 128 * 1024 * 1024,
  maxEntries: 10_000,
};

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

const BLOCK = 512;

/** "/a/./b.json", "./a/b.json" → "a/b.json"; traversal and empty names are refused. */
export function normaliseBundlePath(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..' || p.includes('\0'))) {
    throw new BundleError('bundle entry has an invalid path');
  }
  return parts.join('/');
}

function isDataFile(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base === 'data.json' || base === 'data.yaml' || base === 'data.yml';
}

/** Merges `value` into `target` at `path`; objects merge key by key, anything else conflicts. */
export function mergeDataAt(target: Record<string, unknown>, path: string[], value: unknown, origin: string): void {
  let node = target;
  for (const key of path) {
    const next = node[key];
    if (next === undefined) {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    } else if (isPlainObject(next)) {
      node = next;
    } else {
      throw new BundleError(`${origin}: data conflicts at ${path.join('.') || 'the root'}`);
    }
  }
  if (!isPlainObject(value)) throw new BundleError(`${origin}: data must be a JSON object`);
  for (const [key, child] of Object.entries(value)) {
    if (node[key] === undefined) node[key] = child;
    else if (isPlainObject(node[key]) && isPlainObject(child)) mergeDataAt(node, [key], child, origin);
    else throw new BundleError(`${origin}: data conflicts at ${[...path, key].join('.')}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses a data.json / data.yaml file's text into JSON data. */
export function parseDataFile(name: string, text: string): unknown {
  try {
    return name.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new BundleError(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : 'cannot parse'}`);
  }
}

/** Reads the files of an uncompressed tar archive (regular files only; PAX names honoured). */
function readTar(tar: Buffer, limits: BundleLimits): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let entries = 0;
  let globalPax: Pax | undefined;
  let nextPax: Pax | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = new Header(tar, offset, nextPax, globalPax);
    if (header.nullBlock) break;
    if (!header.cksumValid) throw new BundleError('bundle is not a valid tar archive (bad header checksum)');
    if (++entries > limits.maxEntries) throw new BundleError('bundle has too many entries');
    const size = header.size ?? 0;
    const start = offset + BLOCK;
    const end = start + size;
    if (end > tar.length) throw new BundleError('bundle is truncated');
    const body = tar.subarray(start, end);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    nextPax = undefined;
    switch (header.type) {
      case 'ExtendedHeader':
        nextPax = Pax.parse(body.toString('utf8'), nextPax, false);
        break;
      case 'GlobalExtendedHeader':
        globalPax = Pax.parse(body.toString('utf8'), globalPax, true);
        break;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        const name = normaliseBundlePath(header.path ?? '');
        if (files.has(name)) throw new BundleError(`bundle contains ${name} twice`);
        files.set(name, new Uint8Array(body));
        break;
      }
      case 'Directory':
        break;
      default:
        throw new BundleError(`bundle entry of unsupported type ${header.type}`);
    }
  }
  return files;
}

function parseManifest(bytes: Uint8Array | undefined): BundleManifest {
  if (bytes === undefined) return {};
  let manifest: unknown;
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new BundleError('.manifest is not valid JSON');
  }
  if (!isPlainObject(manifest)) throw new BundleError('.manifest is not a JSON object');
  if (manifest.revision !== undefined && typeof manifest.revision !== 'string') throw new BundleError('.manifest revision is not a string');
  if (manifest.wasm !== undefined) {
    const ok = Array.isArray(manifest.wasm) && manifest.wasm.every(
      (w: unknown) => isPlainObject(w) && typeof w.entrypoint === 'string' && typeof w.module === 'string');
    if (!ok) throw new BundleError('.manifest wasm must be a list of { entrypoint, module }');
  }
  return manifest as BundleManifest;
}

/** Decodes a bundle archive (gzip-compressed tar). */
export function readBundle(archive: Uint8Array, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Bundle {
  if (archive.byteLength > limits.maxCompressedBytes) throw new BundleError('bundle is too large');
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: limits.maxUncompressedBytes });
  } catch (err) {
    const tooBig = err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new BundleError(tooBig ? 'bundle is too large when uncompressed' : 'bundle is not gzip-compressed');
  }
  const files = readTar(tar, limits);
  const manifest = parseManifest(files.get(MANIFEST_FILE));
  const data: Record<string, unknown> = {};
  for (const [name, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!isDataFile(name)) continue;
    const dir = name.split('/').slice(0, -1);
    mergeDataAt(data, dir, parseDataFile(name, Buffer.from(bytes).toString('utf8')), name);
  }
  return { files, manifest, data };
}

/** The WebAssembly module serving `entrypoint` (per the manifest), else /policy.wasm. */
export function bundleWasm(bundle: Bundle, entrypoint: string): Uint8Array {
  const declared = bundle.manifest.wasm ?? [];
  const entry = declared.find((w) => w.entrypoint === entrypoint) ?? declared[0];
  const name = entry ? normaliseBundlePath(entry.module) : DEFAULT_WASM_FILE;
  const wasm = bundle.files.get(name);
  if (wasm === undefined) throw new BundleError(`bundle has no WebAssembly module ${name}`);
  return wasm;
}

/**
 * Encodes files as a bundle archive. Deterministic (fixed order, times and
 * owners), so the same policy always gives the same bytes. Names are written
 * with a leading slash, as `opa build` does.
 */
export function writeBundle(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const chunks: Buffer[] = [];
  const names = [...files.keys()].map(normaliseBundlePath).sort();
  for (const name of names) {
    const body = files.get(name) ?? new Uint8Array();
    const header = new Header({
      path: `/${name}`, mode: 0o644, uid: 0, gid: 0, size: body.byteLength,
      mtime: new Date(0), type: 'File', uname: '', gname: '',
    });
    const block = Buffer.alloc(BLOCK);
    header.encode(block, 0);
    if (header.needPax) throw new BundleError(`bundle entry name too long: ${name}`);
    chunks.push(block, Buffer.from(body), Buffer.alloc((BLOCK - (body.byteLength % BLOCK)) % BLOCK));
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return new Uint8Array(gzipSync(Buffer.concat(chunks)));
}

export interface BuildBundleOptions {
  wasm: Uint8Array;
  data: unknown;
  revision: string;
  entrypoints: string[];
}

/** The files of a bundle holding one compiled policy (before any signature). */
export function bundleFiles(options: BuildBundleOptions): Map<string, Uint8Array> {
  const manifest: BundleManifest = {
    revision: options.revision,
    roots: [''],
    wasm: options.entrypoints.map((entrypoint) => ({ entrypoint, module: `/${DEFAULT_WASM_FILE}` })),
    rego_version: 1,
  };
  const text = (v: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(v)));
  return new Map([
    [DEFAULT_WASM_FILE, options.wasm],
    ['data.json', text(options.data ?? {})],
    [MANIFEST_FILE, text(manifest)],
  ]);
}
