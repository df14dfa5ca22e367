import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { redactJson } from '../gateway/sanitize/json.js';
import { sanitizingHooks } from '../gateway/sanitize/pino.js';

const ghToken = 'ghp_' + 'Z'.repeat(36);
const awsKey = 'AKIA' + 'IOSFODNN7EXAMPLE';
const RAW = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f]/;

t.test('deep redaction: strings, keys, secret-named keys, findings by detector', async (t) => {
  const input = {
    query: `select * -- ${awsKey}`,
    headers: { Authorization: 'Basic abc', 'X-Api-Key': 'k-123', cookie: '' },
    nested: [{ note: `see ${ghToken}` }, 42, true, null],
    'evil\u202ekey\r\n': 'v',
    password: null,
  };
  const { value, found } = redactJson(input);
  t.same(value, {
    query: 'select * -- [REDACTED:aws-access-key]',
    headers: { Authorization: '[REDACTED:authorization-header]', 'X-Api-Key': '[REDACTED:sensitive-field]', cookie: '' },
    nested: [{ note: 'see [REDACTED:github-token]' }, 42, true, null],
    'evilkey\\u000d\\u000a': 'v',
    password: null,
  });
  t.same(found, {
    'aws-access-key': 1,
    'authorization-header': 1,
    'sensitive-field': 1,
    'github-token': 1,
    'bidi-control': 1,
    'line-break': 1,
  });
  t.same(input.headers.Authorization, 'Basic abc', 'input not mutated');
});

t.test('policy redact list: JSON paths masked whole, opt-in detectors switched on, unknown names reported', async (t) => {
  const input = { to: 'bob@example.com', body: 'hi alice@example.com', items: [{ ssn: '1' }, { ssn: '2' }], 'a b': { c: 1 } };
  const { value, found, unknown } = redactJson(input, { redact: ['$.items[*].ssn', "$['a b'].c", 'email', 'no-such-detector'] });
  t.same(value, {
    to: '[REDACTED:email]',
    body: 'hi [REDACTED:email]',
    items: [{ ssn: '[REDACTED:policy-path]' }, { ssn: '[REDACTED:policy-path]' }],
    'a b': { c: '[REDACTED:policy-path]' },
  });
  t.same(found, { email: 2, 'policy-path': 3 });
  t.same(unknown, ['no-such-detector']);
  t.same(redactJson({ a: 1 }, { redact: ['$'] }).value, '[REDACTED:policy-path]', '$ masks everything');
});

t.test('non-JSON shapes: cycles, depth, __proto__ keys, errors, binary, bigint, non-finite numbers', async (t) => {
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  t.same(redactJson(cyclic).value, { name: 'loop', self: '[CIRCULAR]' });
  let deep: unknown = 'bottom';
  for (let i = 0; i < 100; i++) deep = [deep];
  t.match(JSON.stringify(redactJson(deep).value), '[TRUNCATED:depth]');
  const parsed = JSON.parse('{"__proto__":{"polluted":true},"ok":1}') as unknown;
  const out = redactJson(parsed).value as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(out), Object.prototype, 'prototype untouched');
  t.same(Object.keys(out), ['__proto__', 'ok']);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  const err = redactJson(new Error(`failed with ${ghToken}`)).value as Record<string, unknown>;
  t.equal(err.message, 'failed with [REDACTED:github-token]');
  t.notMatch(String(err.stack), ghToken);
  t.same(redactJson({ b: Buffer.from('secret'), n: 10n, x: NaN, f: () => 1 }).value, { b: '[BINARY:6 bytes]', n: '10', x: 'NaN' });
});

/** Every key and string value of a parsed JSON value, decoded, joined. */
function decodedStrings(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return '';
  return Object.entries(value).map(([k, v]) => `${k} ${decodedStrings(v)}`).join(' ');
}

/** A real pino logger writing to memory, with the sanitizing hook. */
function capture(): { logger: pino.Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino(
    {
      hooks: sanitizingHooks(),
      // A serializer runs after formatters: the hook must still see its output.
      serializers: { req: (req: { url: string }) => ({ url: req.url }) },
    },
    stream,
  );
  return { logger, lines: () => chunks.join('').split('\n').filter((l) => l !== '') };
}

t.test('pino: every line sanitized whatever produced it, one log call = one line', async (t) => {
  const { logger, lines } = capture();
  const forged = 'done\r\n{"level":30,"msg":"admin logged in"}';
  logger.info(forged);
  logger.info({ args: { token: 'abc', text: `\x1b[2J${awsKey}` } }, 'call %s', `\u202e${ghToken}`);
  logger.error(new Error(`upstream said Authorization: Bearer ${'q'.repeat(30)}`));
  logger.child({ agent: 'evil\u2028agent' }).warn({ req: { url: `/x?key=${ghToken}` } }, 'request');
  const out = lines();
  t.equal(out.length, 4, 'no forged extra line');
  for (const line of out) {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    t.ok(parsed.level, 'still a pino JSON line');
    t.notMatch(line, RAW);
    t.notMatch(line, ghToken);
    t.notMatch(line, awsKey);
    t.notMatch(line, 'qqqqqqqq');
    t.notMatch(decodedStrings(parsed), RAW, 'no JSON escape decodes back to a hostile character');
  }
  t.match(JSON.parse(out[0] as string), { msg: 'done\\u000d\\u000a{"level":30,"msg":"admin logged in"}' });
  t.match(JSON.parse(out[1] as string), { msg: 'call [REDACTED:github-token]', args: { token: '[REDACTED:sensitive-field]', text: '[REDACTED:aws-access-key]' } });
  t.match(JSON.parse(out[2] as string), { msg: 'upstream said Authorization: [REDACTED:authorization-header]' });
  t.match(JSON.parse(out[3] as string), { agent: 'evil\\u2028agent', req: { url: '/x?key=[REDACTED:github-token]' } });
});
