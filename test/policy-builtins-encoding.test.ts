import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);

t.test('json encoding', async (t) => {
  t.equal(call('json.marshal_with_options', '[{"a": [1]}, {"indent": "  "}]'), JSON.stringify('{\n  "a": [\n    1\n  ]\n}'));
  t.equal(call('json.marshal_with_options', '[[], {"prefix": ">"}]'), '">[]"');
  t.equal(call('json.marshal_with_options', '[[1], {"pretty": false, "indent": "x"}]'), '"[1]"');
  t.equal(call('json.marshal_with_options', '[[1], {"colour": true}]'), '', 'unknown options are an error');
  t.equal(call('json.unmarshal', '["{\\"n\\": 123456789012345678901}"]'), '{"n":123456789012345678901}', 'big integers stay exact');
  t.equal(call('json.unmarshal', '["{bad"]'), '');
  t.equal(call('json.is_valid', '["[1, 2]"]'), 'true');
  t.equal(call('json.is_valid', '["{1: 2}"]'), 'false', 'JSON has no non-string keys');
  t.equal(call('json.is_valid', '[1]'), 'false');
});

t.test('JSON Schema', async (t) => {
  const schema = '{"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}';
  t.equal(call('json.verify_schema', `[${schema}]`), '[true,null]');
  t.match(call('json.verify_schema', '[{"type": "no_such_type"}]'), /^\[false,"jsonschema: has a primitive type that is NOT VALID/);
  t.equal(call('json.match_schema', `[{"id": 1}, ${schema}]`), '[true,[]]');
  t.equal(call('json.match_schema', `["{\\"id\\": 1}", ${JSON.stringify(schema)}]`), '[true,[]]', 'documents and schemas may be JSON text');
  t.equal(call('json.match_schema', `[{"id": "x"}, ${schema}]`),
    '[false,[{"desc":"Invalid type. Expected: integer, given: string","error":"id: Invalid type. Expected: integer, given: string","field":"id","type":"invalid_type"}]]');
  t.equal(call('json.match_schema', '[{}, {"type": "bogus"}]'), '', 'an invalid schema is an error');
});

t.test('yaml', async (t) => {
  t.equal(call('yaml.unmarshal', '["a: [1, 2]\\nb: {c: true}\\n"]'), '{"a":[1,2],"b":{"c":true}}');
  t.equal(call('yaml.unmarshal', '["a: 1\\na: 2\\n"]'), '', 'duplicate keys are an error');
  t.equal(call('yaml.unmarshal', '["enabled: yes\\nbig: 12345678901234567890\\n"]'), '{"big":12345678901234567890,"enabled":true}', 'YAML 1.1 as Go reads it');
  t.equal(call('yaml.is_valid', '["a: [1"]'), 'false');
  t.equal(call('yaml.unmarshal', `[${call('yaml.marshal', '[{"x": {1, 2}}]')}]`), '{"x":[1,2]}', 'round trip');
});

t.test('base64, hex and urlquery', async (t) => {
  t.equal(call('base64.encode', '["hi?>"]'), '"aGk/Pg=="');
  t.equal(call('base64.decode', '["aGk/Pg=="]'), '"hi?>"');
  t.equal(call('base64.is_valid', '["aGk"]'), 'false', 'standard encoding needs padding');
  t.equal(call('base64url.encode', '["hi?>"]'), '"aGk_Pg=="');
  t.equal(call('base64url.encode_no_pad', '["hi?>"]'), '"aGk_Pg"');
  t.equal(call('base64url.decode', '["aGk_Pg"]'), '"hi?>"');
  t.equal(call('hex.encode', '["hi"]'), '"6869"');
  t.equal(call('hex.decode', '["6869"]'), '"hi"');
  t.equal(call('hex.decode', '["zz"]'), '');
  t.equal(call('urlquery.encode', '["a b&c=d/é"]'), '"a+b%26c%3Dd%2F%C3%A9"');
  t.equal(call('urlquery.decode', '["a+b%26c"]'), '"a b&c"');
  t.equal(call('urlquery.encode_object', '[{"b": ["1", "2"], "a": {"x y"}}]'), '"a=x+y&b=1&b=2"');
  t.equal(call('urlquery.decode_object', '["a=1&b&a=2"]'), '{"a":["1","2"],"b":[""]}');
  t.equal(call('urlquery.decode', '["%zz"]'), '');
});

t.test('hashes and HMACs', async (t) => {
  t.equal(call('crypto.sha256', '["abc"]'), JSON.stringify(createHash('sha256').update('abc').digest('hex')));
  t.equal(call('crypto.md5', '["abc"]'), '"900150983cd24fb0d6963f7d28e17f72"');
  t.equal(call('crypto.hmac.sha512', '["msg", "key"]'), JSON.stringify(createHmac('sha512', 'key').update('msg').digest('hex')));
  t.equal(call('crypto.hmac.equal', '["abc", "abc"]'), 'true');
  t.equal(call('crypto.hmac.equal', '["abc", "abd"]'), 'false');
});

t.test('units', async (t) => {
  t.equal(call('units.parse', '["10Ki"]'), '10240');
  t.equal(call('units.parse', '["250m"]'), '0.25', 'lower-case m alone is milli');
  t.equal(call('units.parse', '["2M"]'), '2000000');
  t.equal(call('units.parse', '["0.0000001G"]'), '100', 'exact decimal arithmetic');
  t.equal(call('units.parse', '["1.5e3k"]'), '1500000');
  t.equal(call('units.parse', '["20E"]'), '20000000000000000000', 'exa stays exact');
  t.equal(call('units.parse', '["1 K"]'), '', 'no spaces');
  t.equal(call('units.parse', '["K"]'), '', 'an amount is required');
  t.equal(call('units.parse_bytes', '["1KiB"]'), '1024');
  t.equal(call('units.parse_bytes', '["1.5kb"]'), '1500');
  t.equal(call('units.parse_bytes', '["\\"3MB\\""]'), '3000000', 'quotes are ignored');
  t.equal(call('units.parse_bytes', '["1.5.5"]'), '');
});

t.test('semver and uuid', async (t) => {
  t.equal(call('semver.is_valid', '["1.2.3-rc.1+build"]'), 'true');
  t.equal(call('semver.is_valid', '["v1.2.3"]'), 'false');
  t.equal(call('semver.compare', '["1.2.3", "1.10.0"]'), '-1');
  t.equal(call('semver.compare', '["1.0.0", "1.0.0-alpha"]'), '1');
  t.equal(call('semver.compare', '["1.0", "1.0.0"]'), '', 'invalid versions are an error');
  t.equal(call('uuid.parse', '["{6ba7b810-9dad-41d1-80b4-00c04fd430c8}"]'), '{"variant":"RFC4122","version":4}');
  // A version 1 UUID for 1970-01-01T00:00:00Z (node 01:02:03:04:05:06, clock sequence 0x1234).
  t.equal(call('uuid.parse', '["13814000-1dd2-11b2-9234-010203040506"]'),
    '{"clocksequence":4660,"macvariables":"global:multicast","nodeid":"01-02-03-04-05-06","time":0,"variant":"RFC4122","version":1}');
  t.equal(call('uuid.parse', '["not-a-uuid"]'), '');
  const u = call('uuid.rfc4122', '["seed"]');
  t.match(u, /^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$/);
  t.equal(call('uuid.rfc4122', '["seed"]'), u, 'stable for the same key');
  t.equal(call('trace', '["note"]'), 'true');
  t.equal(call('opa.runtime', '[]'), '{}');
});
