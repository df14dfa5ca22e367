/**
 * Secrets written so that a plain pattern match misses them (encoded, split
 * by invisible characters, or generic key-value credentials), shared by the
 * sanitize tests. Secret-shaped values are assembled at run time so no
 * scanner mistakes this file for a leak.
 */
import { generateKeyPairSync } from 'node:crypto';

export interface HiddenSecret {
  name: string;
  /** The whole text as an agent or an upstream would send it. */
  text: string;
  /** Fragments that must not survive masking (the secret, and its encoded form). */
  leaks: string[];
}

const alnum = (n: number): string => 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zC'.repeat(8).slice(0, n);
const github = 'ghp_' + alnum(36);
const aws = 'AKIA' + 'IOSFODNN7EXAMPLE';
const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
/** A middle line of the key: present in any form of the block that was not masked. */
const pemBody = pem.split('\n')[2] ?? '';

const percentAll = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
const fullwidth = (s: string): string => [...s].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
const interleave = (s: string, sep: string[]): string => [...s].map((c, i) => c + (sep[i % sep.length] ?? '')).join('');
/** Middle fragments of an encoded form: enough to show it survived, wherever it was cut. */
const middle = (s: string): string[] => [s.slice(Math.floor(s.length / 3), Math.floor(s.length / 3) + 12)];

const b64Github = Buffer.from(`token ${github}`).toString('base64');
const b64Pem = Buffer.from(pem).toString('base64');
const b64Password = Buffer.from('db password=Tr0ub4dor&3x!').toString('base64url');
const hexAws = Buffer.from(aws).toString('hex');
const zeroWidth = interleave(github, ['\u200b', '\u200c', '\u2060', '\ufeff']);
const bidi = interleave(aws, ['\u202a', '\u202c', '\u2066', '\u2069']);
const wide = fullwidth(github);
const doubleEncoded = percentAll(github).replaceAll('%', '%25');

export const HIDDEN_SECRETS: HiddenSecret[] = [
  { name: 'URL-encoded PEM private key in a query string', text: `https://files.example.com/upload?key=${encodeURIComponent(pem)}&v=1`, leaks: [pemBody, encodeURIComponent(pemBody).slice(0, 20)] },
  { name: 'percent-encoded token, encoded twice', text: `see ${doubleEncoded} there`, leaks: [github, ...middle(doubleEncoded)] },
  { name: 'base64 of a token', text: `payload ${b64Github} end`, leaks: [github, ...middle(b64Github)] },
  { name: 'base64 of a PEM private key', text: `attachment: ${b64Pem}`, leaks: [pemBody, ...middle(b64Pem)] },
  { name: 'base64url of password=...', text: `blob=${b64Password}`, leaks: ['Tr0ub4dor', b64Password] },
  { name: 'hex of an AWS access key', text: `id ${hexAws} ok`, leaks: [aws, hexAws] },
  { name: 'token split by zero-width characters', text: `copy ${zeroWidth} please`, leaks: [github, ...middle(zeroWidth)] },
  { name: 'AWS key split by bidi controls', text: `id ${bidi}`, leaks: [aws, ...middle(bidi)] },
  { name: 'token in fullwidth letters (NFKC)', text: `key ${wide}`, leaks: [github, ...middle(wide)] },
  { name: 'password=...', text: 'login with password=hunter2hunter2 today', leaks: ['hunter2hunter2'] },
  { name: 'api_key: ...', text: 'config api_key: 9f8e7d6c5b4a3210', leaks: ['9f8e7d6c5b4a3210'] },
  { name: 'token=... in a query string', text: 'https://api.example.com/v1/items?page=2&token=Zq7vK2mP9xR4tL8w&x=1', leaks: ['Zq7vK2mP9xR4tL8w'] },
  { name: 'client_secret in JSON text', text: '{"client_id":"portal","client_secret":"q8W!e7R$t6Y^u5I"}', leaks: ['q8W!e7R$t6Y^u5I'] },
  { name: 'env-file line', text: 'export DB_PASSWORD="Tr0ub4dor&3 horse"\nPORT=8080', leaks: ['Tr0ub4dor&3 horse', 'Tr0ub4dor'] },
  { name: 'X-Api-Key header', text: 'GET / HTTP/1.1\r\nX-Api-Key: 5a7c9e1b3d5f7a9c\r\n', leaks: ['5a7c9e1b3d5f7a9c'] },
  { name: 'credentials in a URL', text: 'clone https://admin:s3cr3t-pa55w0rd@git.example.com/repo.git', leaks: ['s3cr3t-pa55w0rd'] },
  { name: 'percent-encoded URL with credentials', text: `https://r.example.com/?next=${encodeURIComponent('https://admin:s3cr3t-pa55w0rd@db.example.com/')}`, leaks: ['s3cr3t-pa55w0rd'] },
  { name: 'Authorization: Bearer inside a body', text: `POST /v1 HTTP/1.1\r\nAuthorization: Bearer ${alnum(32)}\r\n\r\n{}`, leaks: [alnum(32)] },
];
