import t from 'tap';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);

t.test('aggregates over arrays and sets', async (t) => {
  t.equal(call('product', '[[2, 3, 4]]'), '24');
  t.equal(call('max', '[[1, "a", null]]'), '"a"', 'max uses the total order');
  t.equal(call('min', '[{3, 1, 2}]'), '1');
  t.equal(call('max', '[[]]'), '', 'no maximum of nothing');
  t.equal(call('sort', '[{"b", "a"}]'), '["a","b"]');
  t.equal(call('all', '[[true, true]]'), 'true');
  t.equal(call('any', '[{false}]'), 'false');
  t.equal(call('union', '[{{1, 2}, {2, 3}}]'), '{1,2,3}');
  t.equal(call('intersection', '[{{1, 2}, {2, 3}}]'), '{2}');
  t.equal(call('set_diff', '[{1, 2, 3}, {2}]'), '{1,3}');
});

t.test('numbers', async (t) => {
  t.equal(call('round', '[-2.5]'), '-3', 'halves round away from zero');
  t.equal(call('to_number', '["12.5"]'), '12.5');
  t.equal(call('to_number', '[true]'), '1');
  t.equal(call('to_number', '["Infinity"]'), '', 'no infinities');
  t.equal(call('numbers.range', '[3, 1]'), '[3,2,1]');
  t.equal(call('numbers.range', '[1, 2.5]'), '', 'integers only');
  t.equal(call('numbers.range_step', '[0, 7, 3]'), '[0,3,6]');
  t.equal(call('numbers.range_step', '[0, 7, 0]'), '', 'the step must be positive');
  t.equal(call('numbers.range', '[0, 100000000]'), '', 'ranges are capped');
  t.equal(call('bits.lsh', '[9223372036854775807, 1]'), '18446744073709551614', 'no int64 overflow');
  t.equal(call('bits.lsh', '[1, 1000000000]'), '', 'shifts are capped');
  t.equal(call('bits.and', '[12, 10]'), '8');
  t.equal(call('bits.xor', '[12, 10]'), '6');
  t.equal(call('bits.negate', '[5]'), '-6');
  const r = call('rand.intn', '["k", 10]');
  t.ok(Number(r) >= 0 && Number(r) < 10);
  t.equal(call('rand.intn', '["k", 10]'), r, 'stable for the same key and bound');
});

t.test('objects and arrays', async (t) => {
  t.equal(call('object.get', '[{"a": {"b": [10, 20]}}, ["a", "b", 1], 0]'), '20', 'paths reach into arrays');
  t.equal(call('object.get', '[{"a": 1}, ["a", "x"], "d"]'), '"d"');
  t.equal(call('object.get', '[{1: "n"}, 1, "d"]'), '"n"', 'non-string keys');
  t.equal(call('object.keys', '[{"a": 1, "b": 2}]'), '{"a","b"}');
  t.equal(call('object.remove', '[{"a": 1, "b": 2}, {"a"}]'), '{"b":2}');
  t.equal(call('object.filter', '[{"a": 1, "b": 2}, {"a": 0}]'), '{"a":1}', 'keys may come from an object');
  t.equal(call('object.union', '[{"a": {"x": 1}, "b": 1}, {"a": {"y": 2}, "b": 2}]'), '{"a":{"x":1,"y":2},"b":2}');
  t.equal(call('object.union_n', '[[{"a": 1}, {"b": 2}, {"a": 3}]]'), '{"a":3,"b":2}');
  t.equal(call('object.subset', '[{"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}]'), 'true');
  t.equal(call('object.subset', '[[1, 2, 3, 4], [2, 3]]'), 'true');
  t.equal(call('object.subset', '[[1, 2, 3, 4], [2, 4]]'), 'false', 'arrays match as a contiguous run');
  t.equal(call('object.subset', '[{1, 2}, {3}]'), 'false');
  t.equal(call('array.concat', '[[1], [2, 3]]'), '[1,2,3]');
  t.equal(call('array.slice', '[[1, 2, 3, 4], -1, 2]'), '[1,2]', 'bounds are clamped');
  t.equal(call('array.slice', '[[1, 2, 3], 2, 1]'), '[]');
  t.equal(call('array.reverse', '[[1, 2, 3]]'), '[3,2,1]');
});

t.test('walk and graphs', async (t) => {
  t.equal(call('walk', '[{"a": [1]}]'), '[[[],{"a":[1]}],[["a"],[1]],[["a",0],1]]');
  t.equal(call('graph.reachable', '[{"a": ["b"], "b": {"c"}, "c": null, "d": ["a"]}, ["a"]]'), '{"a","b","c"}');
  t.equal(call('graph.reachable', '[{"a": ["b"]}, ["z"]]'), 'set()', 'a start outside the graph reaches nothing');
  t.equal(call('graph.reachable_paths', '[{"a": ["b", "c"], "b": ["c"], "c": []}, ["a"]]'), '{["a","b","c"],["a","c"]}');
  t.equal(call('graph.reachable_paths', '[{"a": ["b"], "b": ["a"]}, ["a"]]'), '{["a","b"]}', 'cycles end a path');
  t.equal(call('graph.reachable', '[1, ["a"]]'), '', 'the graph must be an object');
});

t.test('json.filter, json.remove and json.patch', async (t) => {
  const doc = '{"a": {"b": 1, "c": [10, 20, 30]}, "d": 2}';
  t.equal(call('json.filter', `[${doc}, ["a/b", ["a", "c", 1]]]`), '{"a":{"b":1,"c":[20]}}');
  t.equal(call('json.remove', `[${doc}, {"a/c", "d"}]`), '{"a":{"b":1}}');
  t.equal(call('json.remove', `[${doc}, ["a/c/0"]]`), '{"a":{"b":1,"c":[20,30]},"d":2}');
  t.equal(call('json.filter', `[${doc}, "a"]`), '', 'paths must be a set or an array');
  t.equal(call('json.remove', `[[1], ["0"]]`), '', 'the document must be an object');
  t.equal(call('json.patch', '[{"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}, {"op": "replace", "path": "/b", "value": 1}]]'), '', 'replace needs an existing path');
  t.equal(call('json.patch', '[{"a": [1]}, [{"op": "add", "path": "/a/0", "value": 0}, {"op": "copy", "from": "/a", "path": "/b"}, {"op": "test", "path": "/b/1", "value": 1}]]'), '{"a":[0,1],"b":[0,1]}');
  t.equal(call('json.patch', '[{"a": {"x": 1}}, [{"op": "move", "from": "/a/x", "path": "/y"}, {"op": "remove", "path": "/a"}]]'), '{"y":1}');
  t.equal(call('json.patch', '[{"a": 1}, [{"op": "test", "path": "/a", "value": 2}]]'), '', 'a failed test');
  t.equal(call('json.patch', '[{"s": {"x"}}, [{"op": "add", "path": "/s/y", "value": "y"}]]'), '{"s":{"x","y"}}', 'sets take members');
  t.equal(call('json.patch', '[[1], [{"op": "add", "path": "/5", "value": 1}]]'), '', 'an index beyond the end');
  t.equal(call('json.patch', '[{"a": {}}, [{"op": "add", "path": "a/b", "value": 1}]]'), '{"a":{"b":1}}', 'the leading / is optional');
});
