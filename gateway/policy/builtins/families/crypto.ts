/** Hashes and HMACs over the UTF-8 bytes of strings, hex encoded. */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { str, type BuiltinTable } from '../operands.js';
import type { Value } from '../value.js';

const digest = (alg: string) => (s: Value | undefined): string => createHash(alg).update(str(s), 'utf8').digest('hex');
const hmac = (alg: string) => (s: Value | undefined, key: Value | undefined): string =>
  createHmac(alg, Buffer.from(str(key), 'utf8')).update(str(s), 'utf8').digest('hex');

export const cryptoBuiltins: BuiltinTable = {
  'crypto.md5': digest('md5'),
  'crypto.sha1': digest('sha1'),
  'crypto.sha256': digest('sha256'),
  'crypto.hmac.md5': hmac('md5'),
  'crypto.hmac.sha1': hmac('sha1'),
  'crypto.hmac.sha256': hmac('sha256'),
  'crypto.hmac.sha512': hmac('sha512'),
  'crypto.hmac.equal': (a, b) => {
    const x = Buffer.from(str(a), 'utf8');
    const y = Buffer.from(str(b), 'utf8');
    return x.length === y.length && timingSafeEqual(x, y);
  },
};
