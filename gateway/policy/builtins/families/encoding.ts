/** base64*, hex and urlquery.* built-ins (Go encoding semantics). */
import { BuiltinError, items, obj, str, type BuiltinTable } from '../operands.js';
import { RegoObject, type Value } from '../value.js';

const B64_STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64_URL = /^[A-Za-z0-9_-]*={0,2}$/;

function decodeStd(s: string): string {
  if (!B64_STD.test(s)) throw new BuiltinError('illegal base64 data');
  return Buffer.from(s, 'base64').toString('utf8');
}

/** base64url.decode accepts padded and unpadded input, as OPA does. */
function decodeUrl(s: string): string {
  if (!B64_URL.test(s) || s.replace(/=+$/, '').length % 4 === 1) throw new BuiltinError('illegal base64 data');
  return Buffer.from(s, 'base64url').toString('utf8');
}

function decodeHex(s: string): string {
  const bad = /[^0-9a-fA-F]/.exec(s);
  if (bad) throw new BuiltinError(`invalid byte: ${bad[0]}`);
  if (s.length % 2 !== 0) throw new BuiltinError('odd length hex string');
  return Buffer.from(s, 'hex').toString('utf8');
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}

function queryUnescape(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new BuiltinError('invalid URL escape');
  }
}

function encodeObject(o: RegoObject): string {
  const parts: string[] = [];
  for (const [k, v] of o.sorted()) {
    const key = queryEscape(str(k));
    const values = typeof v === 'string' ? [v] : items(v).map(str);
    for (const x of values) parts.push(`${key}=${queryEscape(x)}`);
  }
  return parts.join('&');
}

function decodeObject(s: string): RegoObject {
  const out = new RegoObject();
  for (const pair of s.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? '' : queryUnescape(pair.slice(eq + 1));
    const prev = out.get(k);
    out.set(k, [...(Array.isArray(prev) ? prev : []), v]);
  }
  return out;
}

const isValid = (f: (s: string) => unknown) => (s: Value | undefined): boolean => {
  try {
    f(str(s));
    return true;
  } catch {
    return false;
  }
};

export const encodingBuiltins: BuiltinTable = {
  'base64.encode': (s) => Buffer.from(str(s), 'utf8').toString('base64'),
  'base64.decode': (s) => decodeStd(str(s)),
  'base64.is_valid': isValid(decodeStd),
  'base64url.encode': (s) => Buffer.from(str(s), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_'),
  'base64url.encode_no_pad': (s) => Buffer.from(str(s), 'utf8').toString('base64url'),
  'base64url.decode': (s) => decodeUrl(str(s)),
  'hex.encode': (s) => Buffer.from(str(s), 'utf8').toString('hex'),
  'hex.decode': (s) => decodeHex(str(s)),
  'urlquery.encode': (s) => queryEscape(str(s)),
  'urlquery.decode': (s) => queryUnescape(str(s)),
  'urlquery.encode_object': (o) => encodeObject(obj(o)),
  'urlquery.decode_object': (s) => decodeObject(str(s)),
};
