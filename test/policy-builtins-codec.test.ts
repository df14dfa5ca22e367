import t from 'tap';
import { ValueSyntaxError, parseValue, serialise, serialiseJson, termText } from '../gateway/policy/builtins/codec.js';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { BUILTIN_ARITY } from '../gateway/policy/builtins/catalog.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';
import { NATIVE_BUILTINS } from '../gateway/policy/builtins/natives.js';
import { RegoObject, RegoSet, compare, equal } from '../gateway/policy/builtins/value.js';

t.test('value text round-trips sets, non-string keys and big integers', async (t) => {
  const text = '{1: "a", "b": {3, 2, 1}, "c": set(), "d": [null, true, 1.5, 123456789123456789123]}';
  const v = parseValue(text);
  t.ok(v instanceof RegoObject);
  t.equal(serialise(v), '{1:"a","b":{1,2,3},"c":set(),"d":[null,true,1.5,123456789123456789123]}', 'numbers sort before strings');
  t.equal(serialise(parseValue(serialise(v))), serialise(v), 'canonical text is stable');
  t.equal(serialiseJson(v), '{"1":"a","b":[1,2,3],"c":[],"d":[null,true,1.5,123456789123456789123]}');
  t.equal(termText(parseValue('[1, {"a": {2}}]')), '[1, {"a": {2}}]');
});

t.test('rejects malformed value text', async (t) => {
  for (const bad of ['', '{', '[1,]', '{"a" 1}', 'nul', '"unterminated', '1 2']) {
    t.throws(() => parseValue(bad), ValueSyntaxError, bad);
  }
});

t.test("OPA's total order: null < boolean < number < string < array < object < set", async (t) => {
  const ordered = ['null', 'false', 'true', '-1', '2.5', '3', '"a"', '"b"', '[]', '[1]', '[1, 2]', '{}', '{"a": 1}', 'set()', '{1}'];
  const values = ordered.map(parseValue);
  for (let i = 0; i + 1 < values.length; i++) {
    t.equal(compare(values[i]!, values[i + 1]!), -1, `${ordered[i]} < ${ordered[i + 1]}`);
    t.equal(compare(values[i + 1]!, values[i]!), 1);
  }
  t.ok(equal(parseValue('1.0'), parseValue('1')), 'numbers compare by value');
  t.ok(equal(new RegoSet([1, 2]), new RegoSet([2, 1])), 'sets ignore insertion order');
  t.equal(compare(parseValue('9007199254740993'), parseValue('9007199254740992')), 1, 'big integers stay exact');
});

t.test('wire wrappers: value text in, value text or "" out', async (t) => {
  const host = hostBuiltinImports();
  const sort = host[`${HOST_PREFIX}sort`]!;
  t.equal(sort('[{"b", "a", 1}]'), '[1,"a","b"]');
  t.equal(sort('[1]'), '', 'a type error is undefined');
  t.equal(sort('not value text'), '', 'malformed arguments are undefined');
  t.equal(sort('{"not": "an array"}'), '');
  t.equal(host[`${HOST_PREFIX}object.get`]!('[{"a": 1}, "b", "dflt"]'), '"dflt"');
});

t.test('every catalog entry is native or has a host implementation', async (t) => {
  const host = hostBuiltinImports();
  // assign and eq are unification, planned by the compiler rather than called.
  const planned = new Set(['assign', 'eq']);
  for (const name of Object.keys(BUILTIN_ARITY)) {
    if (NATIVE_BUILTINS.has(name) || planned.has(name)) continue;
    t.type(host[HOST_PREFIX + name], 'function', name);
  }
  for (const key of Object.keys(host)) {
    t.ok(Object.hasOwn(BUILTIN_ARITY, key.slice(HOST_PREFIX.length)), `${key} is in the catalog`);
  }
  t.notOk(`${HOST_PREFIX}net.lookup_ip_addr` in host, 'no network built-ins');
  for (const name of NATIVE_BUILTINS) t.notOk(HOST_PREFIX + name in host, `${name} runs in the runtime only: no unreachable host copy`);
});
