/** semver.*, uuid.*, trace and opa.runtime. */
import { randomUUID } from 'node:crypto';
import semver from 'semver';
import { BuiltinError, str, type BuiltinImpl, type BuiltinTable } from '../operands.js';
import { RegoObject, normaliseNumber, type Value } from '../value.js';

/** SemVer 2.0.0 without a "v" prefix, as OPA's semver package requires. */
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

function version(v: Value | undefined): string {
  const s = str(v);
  if (!SEMVER.test(s)) throw new BuiltinError(`string ${JSON.stringify(s)} is not a valid SemVer`);
  return s;
}

/** 100 ns intervals between the Gregorian epoch (1582-10-15) and the Unix epoch. */
const GREGORIAN_OFFSET = 0x01b21dd213814000n;

function uuidBytes(s: string): Buffer {
  let hex: string;
  if (/^urn:uuid:/i.test(s) && s.length === 45) hex = s.slice(9);
  else if (s.length === 38 && s.startsWith('{') && s.endsWith('}')) hex = s.slice(1, -1);
  else hex = s;
  if (hex.length === 36) {
    if (![8, 13, 18, 23].every((i) => hex[i] === '-')) throw new BuiltinError('invalid UUID format');
    hex = hex.replace(/-/g, '');
  }
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new BuiltinError('invalid UUID format');
  return Buffer.from(hex, 'hex');
}

function variantName(b: number): string {
  if ((b & 0x80) === 0) return 'Reserved';
  if ((b & 0xc0) === 0x80) return 'RFC4122';
  if ((b & 0xe0) === 0xc0) return 'Microsoft';
  return 'Future';
}

const DOMAINS = ['Person', 'Group', 'Org'];

function parseUuid(s: string): RegoObject {
  const b = uuidBytes(s);
  const ver = (b[6] as number) >> 4;
  const out: Record<string, Value> = { version: ver, variant: variantName(b[8] as number) };
  if (ver === 1 || ver === 2) {
    const t = BigInt(b.readUInt32BE(0)) | (BigInt(b.readUInt16BE(4)) << 32n) | (BigInt(b.readUInt16BE(6) & 0xfff) << 48n);
    out['time'] = normaliseNumber((t - GREGORIAN_OFFSET) * 100n);
    out['clocksequence'] = (((b[8] as number) & 0x3f) << 8) | (b[9] as number);
    const node = b.subarray(10);
    out['nodeid'] = [...node].map((x) => x.toString(16).padStart(2, '0')).join('-');
    const first = node[0] as number;
    out['macvariables'] = `${first & 0x02 ? 'local' : 'global'}:${first & 0x01 ? 'multicast' : 'unicast'}`;
    if (ver === 2) {
      out['id'] = b.readUInt32BE(0);
      out['domain'] = DOMAINS[b[9] as number] ?? `Domain${b[9] as number}`;
    }
  }
  return RegoObject.fromRecord(out);
}

/** uuid.rfc4122 is stable per key within one policy instance (bounded memory). */
function uuidPerKey(): BuiltinImpl {
  const seen = new Map<string, string>();
  return (k) => {
    const key = str(k);
    let u = seen.get(key);
    if (u === undefined) {
      if (seen.size >= 10_000) seen.clear();
      u = randomUUID();
      seen.set(key, u);
    }
    return u;
  };
}

export function miscBuiltins(): BuiltinTable {
  return {
    'semver.is_valid': (v) => typeof v === 'string' && SEMVER.test(v),
    'semver.compare': (a, b) => semver.compare(version(a), version(b)),
    'uuid.parse': (s) => parseUuid(str(s)),
    'uuid.rfc4122': uuidPerKey(),
    'trace': (s) => {
      str(s);
      return true;
    },
    'opa.runtime': () => new RegoObject(),
  };
}
