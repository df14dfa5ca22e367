import t from 'tap';
import { ArgumentValidator } from '../gateway/validate/arguments.js';

const schema = {
  type: 'object',
  properties: { path: { type: 'string', minLength: 1 }, lines: { type: 'integer', minimum: 1 } },
  required: ['path'],
  additionalProperties: false,
};

t.test('valid arguments pass; invalid ones get safe problems without values', async (t) => {
  const v = new ArgumentValidator();
  t.same(v.validate('h1', schema, { path: '/tmp/a', lines: 3 }), { valid: true });
  t.same(v.validate('h1', schema, { path: 'secret-value-xyz', lines: 0 }), { valid: false, problems: ['/lines must be >= 1'] });
  t.same(v.validate('h1', schema, {}), { valid: false, problems: ["/ must have required property 'path'"] });
  const extra = v.validate('h1', schema, { path: 'a', api_key: 'sk-live-123' });
  t.equal(extra.valid, false);
  if (!extra.valid) t.notMatch(extra.problems.join(' '), /sk-live/);
  t.same(v.validate('h1', schema, undefined), { valid: false, problems: ["/ must have required property 'path'"] }, 'absent arguments are validated as {}');
  t.same(v.validate('h2', { type: 'object' }, undefined), { valid: true });
});

t.test('draft 2020-12 and draft-07 schemas both work; $id collisions do not break compiling', async (t) => {
  const v = new ArgumentValidator();
  const s2020 = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:example:tool',
    type: 'object',
    properties: { items: { type: 'array', prefixItems: [{ type: 'string' }], items: false } },
  };
  t.same(v.validate('a', s2020, { items: ['x'] }), { valid: true });
  t.equal(v.validate('a', s2020, { items: ['x', 'y'] }).valid, false);
  const s7 = { $schema: 'http://json-schema.org/draft-07/schema#', $id: 'urn:example:tool', type: 'object', required: ['x'] };
  t.same(v.validate('b', s7, { x: 1 }), { valid: true });
  t.equal(v.validate('b', s7, {}).valid, false);
  const sameId = { ...s7, required: ['y'] };
  t.same(v.validate('c', sameId, { y: 1 }), { valid: true }, 'another tool reusing the $id compiles too');
});

t.test('a schema that cannot be compiled refuses every call (fail closed)', async (t) => {
  const v = new ArgumentValidator();
  const broken = { type: 'object', properties: { a: { $ref: 'https://example.invalid/remote.json' } } };
  t.same(v.validate('bad', broken, { a: 1 }), { valid: false, problems: ['the tool input schema cannot be used for validation'] });
  t.same(v.validate('bad2', { type: 'no-such-type' }, {}), { valid: false, problems: ['the tool input schema cannot be used for validation'] });
});

t.test('validators are cached by definition hash and the cache is bounded', async (t) => {
  const v = new ArgumentValidator(4);
  // Same hash → the cached validator is used even if a different schema object is passed.
  t.same(v.validate('same', { type: 'object', required: ['x'] }, {}).valid, false);
  t.same(v.validate('same', { type: 'object' }, {}).valid, false, 'cached by hash, not recompiled');
  for (let i = 0; i < 10; i++) v.validate(`h${i}`, { type: 'object', required: [`k${i}`] }, {});
  // After eviction the hash compiles again from the schema given now.
  t.same(v.validate('same', { type: 'object' }, {}), { valid: true });
});
