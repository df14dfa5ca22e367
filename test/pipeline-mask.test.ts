import t from 'tap';
import { maskResult } from '../gateway/pipeline/mask-result.js';

const result = {
  content: [
    { type: 'text', text: 'line one\nkey ghp_abcdefghijklmnopqrstuvwxyz0123456789 end\ttab' },
    { type: 'image', data: 'iVBORw0KGgo'.repeat(1000), mimeType: 'image/png' },
  ],
  structuredContent: { user: 'ann', email: 'ann@example.com', password: 'hunter2', nested: { token: '' } },
};

t.test('secrets are masked; everything else is left exactly as sent', async (t) => {
  const { value, found } = maskResult(result, ['secrets']);
  t.equal(value.content[0]?.text, 'line one\nkey [REDACTED:github-token] end\ttab', 'newlines and tabs kept');
  t.equal((value.content[1] as { data: string }).data, result.content[1]?.data, 'long binary data untouched (no truncation)');
  t.same(value.structuredContent, { user: 'ann', email: 'ann@example.com', password: '[REDACTED:sensitive-field]', nested: { token: '' } });
  t.same(found, { 'github-token': 1, 'sensitive-field': 1 });
  t.equal(result.structuredContent.password, 'hunter2', 'the input is not modified');
});

t.test('opt-in detectors and JSON paths named by the policy', async (t) => {
  const { value, found } = maskResult(result, ['email', '$.structuredContent.user', '$.content[*].mimeType']);
  t.same(value.structuredContent, { user: '[REDACTED:policy-path]', email: '[REDACTED:email]', password: '[REDACTED:sensitive-field]', nested: { token: '' } });
  t.equal((value.content[1] as { mimeType: string }).mimeType, '[REDACTED:policy-path]');
  t.match(found, { 'policy-path': 2, email: 1 });
});

t.test('a "__proto__" key stays data', async (t) => {
  const { value } = maskResult(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>, ['secrets']);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.ok(Object.hasOwn(value, '__proto__'));
});
