/** net.cidr_* built-ins, on addresses as bigints. */
import ipaddr from 'ipaddr.js';
import { BuiltinError, items, str, type BuiltinTable } from '../operands.js';
import { RegoObject, RegoSet, type Value } from '../value.js';

interface Block { v6: boolean; start: bigint; bits: number }

const width = (v6: boolean): number => (v6 ? 128 : 32);

function addrToBig(a: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return a.toByteArray().reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

function bigToAddr(n: bigint, v6: boolean): string {
  const bytes: number[] = [];
  for (let i = 0; i < width(v6) / 8; i++) bytes.unshift(Number((n >> BigInt(8 * i)) & 0xffn));
  const a = ipaddr.fromByteArray(bytes);
  return a instanceof ipaddr.IPv6 ? a.toRFC5952String() : a.toString();
}

const hostMask = (bits: number, v6: boolean): bigint => (1n << BigInt(width(v6) - bits)) - 1n;

/** An IPv4 address in Go's only accepted form: dotted decimal, no leading zeros. */
const GO_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Go's net.ParseIP: strict dotted-decimal IPv4, or IPv6 without a zone (an embedded IPv4 part strict too). */
function goIp(s: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (GO_IPV4.test(s)) return ipaddr.IPv4.parse(s);
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !ipaddr.IPv6.isValid(s)) return undefined;
  const cut = s.lastIndexOf(':') + 1;
  const tail = s.slice(cut);
  if (!tail.includes('.')) return ipaddr.IPv6.parse(s);
  if (!GO_IPV4.test(tail)) return undefined;
  // ipaddr.js reads any embedded IPv4 part as IPv4-mapped (::a.b.c.d as ::ffff:a.b.c.d); Go keeps the bits as written.
  const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
  return ipaddr.IPv6.parse(`${s.slice(0, cut)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
}

/**
 * As Go's net.IPNet does: an IPv4-mapped IPv6 address (::ffff:a.b.c.d), or a
 * network of them (prefix >= 96), is IPv4. So "::ffff:0:0/96" is 0.0.0.0/0
 * and "10.0.0.0/8" contains "::ffff:10.0.0.1".
 */
function goFamily(b: Block): Block {
  if (!b.v6 || b.bits < 96 || b.start >> 32n !== 0xffffn) return b;
  return { v6: false, start: b.start & 0xffffffffn, bits: b.bits - 96 };
}

/** A CIDR, or a single address when `bareIps` allows it: as a full-length prefix ('any') or as cidr_merge reads it ('v4'). */
function parseBlock(s: string, bareIps: 'any' | 'v4' | 'none'): Block {
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const addr = goIp(s.slice(0, slash));
    const prefix = s.slice(slash + 1);
    const v6 = addr?.kind() === 'ipv6';
    if (!addr || !/^\d{1,3}$/.test(prefix) || Number(prefix) > width(v6)) throw new BuiltinError(`invalid CIDR ${s}`);
    const bits = Number(prefix);
    return goFamily({ v6, start: addrToBig(addr) & ~hostMask(bits, v6), bits });
  }
  const addr = bareIps === 'none' ? undefined : goIp(s);
  if (addr) {
    const v6 = addr.kind() === 'ipv6';
    if (bareIps === 'any') return goFamily({ v6, start: addrToBig(addr), bits: width(v6) });
    if (v6) throw new BuiltinError('IPv6 invalid: needs prefix length');
    // cidr_merge gives a bare IPv4 address its classful network (Go's DefaultMask).
    const first = addr.toByteArray()[0] as number;
    const bits = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
    return { v6, start: addrToBig(addr) & ~hostMask(bits, v6), bits };
  }
  throw new BuiltinError(`invalid CIDR or IP ${s}`);
}

const end = (b: Block): bigint => b.start | hostMask(b.bits, b.v6);

function contains(outer: Block, inner: Block): boolean {
  return outer.v6 === inner.v6 && inner.start >= outer.start && end(inner) <= end(outer);
}

function intersects(a: Block, b: Block): boolean {
  return a.v6 === b.v6 && a.start <= end(b) && b.start <= end(a);
}

const blockText = (b: Block): string => `${bigToAddr(b.start, b.v6)}/${b.bits}`;

/** Smallest set of blocks covering exactly the union of the given ones. */
function merge(blocks: Block[]): Block[] {
  const out: Block[] = [];
  for (const v6 of [false, true]) {
    const ranges = blocks.filter((b) => b.v6 === v6).map((b) => [b.start, end(b)] as [bigint, bigint])
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1n) last[1] = r[1] > last[1] ? r[1] : last[1];
      else merged.push([r[0], r[1]]);
    }
    for (const [lo, hi] of merged) {
      let start = lo;
      while (start <= hi) {
        let bits = width(v6);
        while (bits > 0) {
          const size = 1n << BigInt(width(v6) - bits + 1);
          if (start % size !== 0n || start + size - 1n > hi) break;
          bits--;
        }
        out.push({ v6, start, bits });
        start += 1n << BigInt(width(v6) - bits);
      }
    }
  }
  return out;
}

function expand(b: Block): RegoSet {
  const count = end(b) - b.start + 1n;
  if (count > 65536n) throw new BuiltinError('CIDR too large to expand');
  const out = new RegoSet();
  for (let n = b.start; n <= end(b); n++) out.add(bigToAddr(n, b.v6));
  return out;
}

/** The (key, CIDR text) pairs of a cidr_contains_matches operand. */
function keyed(v: Value | undefined): [Value, string][] {
  const element = (x: Value): string => {
    if (typeof x === 'string') return x;
    if (Array.isArray(x) && typeof x[0] === 'string') return x[0];
    throw new BuiltinError('element must be string or non-empty array');
  };
  if (typeof v === 'string') return [[v, v]];
  if (Array.isArray(v)) return v.map((x, i) => [i, element(x)]);
  if (v instanceof RegoSet) return v.sorted().map((x) => [x, element(x)]);
  if (v instanceof RegoObject) return v.sorted().map(([k, x]) => [k, element(x)]);
  throw new BuiltinError('operand must be string, array, set or object');
}

export const netBuiltins: BuiltinTable = {
  'net.cidr_contains': (a, b) => contains(parseBlock(str(a), 'none'), parseBlock(str(b), 'any')),
  'net.cidr_intersects': (a, b) => intersects(parseBlock(str(a), 'none'), parseBlock(str(b), 'none')),
  'net.cidr_expand': (a) => expand(parseBlock(str(a), 'none')),
  'net.cidr_merge': (c) => new RegoSet(merge(items(c).map((x) => parseBlock(str(x), 'v4'))).map(blockText)),
  'net.cidr_is_valid': (a) => {
    if (typeof a !== 'string') return false;
    try {
      parseBlock(a, 'none');
      return true;
    } catch {
      return false;
    }
  },
  'net.cidr_contains_matches': (a, b) => {
    const outer = keyed(a).map(([k, s]) => [k, parseBlock(s, 'none')] as const);
    const inner = keyed(b).map(([k, s]) => [k, parseBlock(s, 'any')] as const);
    const out = new RegoSet();
    for (const [ka, ba] of outer) for (const [kb, bb] of inner) if (contains(ba, bb)) out.add([ka, kb]);
    return out;
  },
};
