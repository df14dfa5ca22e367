import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { sanitizeString, sanitizeText, type Findings } from '../gateway/sanitize/text.js';
import { DETECTOR_KINDS } from '../gateway/sanitize/detectors.js';

// Secret-shaped test values are assembled at run time so no scanner mistakes this file for a leak.
const alnum = (n: number): string => 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zC'.repeat(8).slice(0, n);
const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

const SECRETS: [kind: string, secret: string, context: (s: string) => string][] = [
  ['aws-access-key', 'AKIA' + 'IOSFODNN7EXAMPLE', (s) => `key id ${s} here`],
  ['aws-secret-key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY', (s) => `aws_secret_access_key=${s}`],
  ['github-token', 'ghp_' + alnum(36), (s) => `token ${s}`],
  ['github-token', 'github_pat_' + alnum(40), (s) => `${s}`],
  ['slack-token', 'xoxb-' + '1234567890-' + alnum(24), (s) => `slack ${s}`],
  ['slack-webhook', 'https://hooks.slack.com/services/' + 'T000/B000/' + alnum(24), (s) => `post to ${s} now`],
  ['stripe-key', 'sk_' + 'live_' + alnum(24), (s) => `stripe=${s}`],
  ['google-api-key', 'AIza' + alnum(35), (s) => `?key=${s}&x=1`],
  ['google-oauth-token', 'ya29.' + alnum(40), (s) => `oauth ${s}`],
  ['openai-key', 'sk-' + 'proj-' + alnum(48), (s) => `OPENAI_API_KEY=${s}`],
  ['anthropic-key', 'sk-' + 'ant-api03-' + alnum(60), (s) => `x-api: ${s}`],
  ['bearer-token', alnum(32), (s) => `token is Bearer ${s} ok`],
  ['jwt', 'eyJhbGciOiJIUzI1NiJ9.' + 'eyJzdWIiOiJhZ2VudCJ9.' + alnum(43), (s) => `jwt ${s}`],
  ['pem-private-key', pem, (s) => `key:\n${s}\nend`],
  ['url-password', 'hunter2hunter2', (s) => `postgres://admin:${s}@db.internal:5432/app`],
  ['authorization-header', 'Basic dXNlcjpwYXNzd29yZA==', (s) => `Authorization: ${s}`],
  ['cookie-header', 'session=' + alnum(20) + '; theme=dark', (s) => `Cookie: ${s}`],
];

t.test('every secret kind is replaced by its marker and counted', async (t) => {
  for (const [kind, secret, context] of SECRETS) {
    const findings: Findings = {};
    const out = sanitizeString(context(secret), findings);
    t.notOk(out.includes(secret), `${kind}: secret gone`);
    t.match(out, `[REDACTED:${kind}]`, `${kind}: marker present`);
    t.equal(findings[kind], 1, `${kind}: counted once`);
    t.ok(DETECTOR_KINDS.includes(kind), `${kind}: a known detector`);
  }
});

t.test('context around a secret survives; an Authorization bearer is reported once, as the header', async (t) => {
  const findings: Findings = {};
  const out = sanitizeString(`Authorization: Bearer ${alnum(30)}`, findings);
  t.equal(out, 'Authorization: [REDACTED:authorization-header]');
  t.same(findings, { 'authorization-header': 1 });
  t.equal(sanitizeText('postgres://admin:pw12345@db/app'), 'postgres://admin:[REDACTED:url-password]@db/app');
});

t.test('ANSI escapes, control characters, line breaks, bidi and zero-width characters', async (t) => {
  const findings: Findings = {};
  const hostile = '\x1b[31mred\x1b[0m \x1b]0;pwned title\x07 \x9b2J done\r\n{"level":30,"msg":"forged"}\u2028next\u2029 \u202egnp.exe\u202c a\u200bb\x00\x07\x7f\x85';
  const out = sanitizeString(hostile, findings);
  t.notMatch(out, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f]/, 'no raw control, separator, bidi or zero-width character');
  t.match(out, 'red   done\\u000d\\u000a{"level":30,"msg":"forged"}\\u2028next\\u2029 gnp.exe ab');
  t.same(findings, { 'ansi-escape': 4, 'bidi-control': 2, 'zero-width': 1, 'line-break': 3, 'control-char': 4 });
});

t.test('invisible characters cannot hide a secret from the detectors', async (t) => {
  const out = sanitizeText('AKIA\u200bIOSFOD\u202aNN7EXAMPLE and \x1b[1mghp_' + alnum(36));
  t.equal(out, '[REDACTED:aws-access-key] and [REDACTED:github-token]');
});

t.test('length cap: cut with a marker, secrets past the cap never half-revealed', async (t) => {
  const findings: Findings = {};
  const out = sanitizeString('x'.repeat(90) + ' AKIA' + 'IOSFODNN7EXAMPLE', findings, { maxLength: 100 });
  t.equal(out, 'x'.repeat(90) + ' [REDACTED…[TRUNCATED:111 chars]');
  t.equal(findings.truncated, 1);
  const huge = sanitizeText('y'.repeat(5_000_000));
  t.equal(huge.length, 4096 + '…[TRUNCATED:5000000 chars]'.length);
  t.equal(sanitizeText('😀'.repeat(3), { maxLength: 5 }), '😀😀…[TRUNCATED:6 chars]', 'no half surrogate pair');
});

t.test('opt-in detectors run only when named', async (t) => {
  const text = 'mail alice@example.com card 4111 1111 1111 1111 not 1234 5678 9012 3456';
  t.equal(sanitizeText(text), text);
  t.equal(
    sanitizeText(text, { optIn: new Set(['email', 'credit-card']) }),
    'mail [REDACTED:email] card [REDACTED:credit-card] not 1234 5678 9012 3456',
    'Luhn rejects the non-card number',
  );
});

t.test('ordinary text is untouched', async (t) => {
  for (const text of ['hello world', 'path/to/file.txt', 'tab\tsep', 'résumé 日本語 😀', 'sk-short', 'Bearer']) {
    t.equal(sanitizeText(text), text.replace('\t', '\\u0009'));
  }
});
