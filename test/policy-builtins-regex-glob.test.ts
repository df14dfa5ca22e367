import t from 'tap';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);

t.test('regex.match and re_match use RE2 syntax', async (t) => {
  t.equal(call('regex.match', '["^[a-z]+$", "abc"]'), 'true');
  t.equal(call('re_match', '["^[a-z]+$", "ab1"]'), 'false');
  t.equal(call('regex.match', '["(?i)^HELLO$", "hello"]'), 'true', 'leading inline flags');
  t.equal(call('regex.match', '["(?P<word>\\\\w+)\\\\z", "abc"]'), 'true', 'named groups and \\z');
  t.equal(call('regex.match', '["[", "x"]'), '', 'an invalid pattern is an error');
});

t.test('regex.is_valid rejects what RE2 rejects', async (t) => {
  t.equal(call('regex.is_valid', '["a+b"]'), 'true');
  t.equal(call('regex.is_valid', '["(a"]'), 'false');
  t.equal(call('regex.is_valid', '["(?=a)"]'), 'false', 'no lookahead in RE2');
  t.equal(call('regex.is_valid', '["(a)\\\\1"]'), 'false', 'no backreferences in RE2');
  t.equal(call('regex.is_valid', '[5]'), 'false');
});

t.test('find, split and replace', async (t) => {
  t.equal(call('regex.find_n', '["[0-9]+", "a1b22c333", 2]'), '["1","22"]');
  t.equal(call('regex.find_n', '["[0-9]+", "a1b22c333", -1]'), '["1","22","333"]');
  t.equal(call('regex.find_all_string_submatch_n', '["(\\\\w)=(\\\\d)?", "a=1 b=", -1]'), '[["a=1","a","1"],["b=","b",""]]');
  t.equal(call('regex.split', '["[,;]", "a,b;c"]'), '["a","b","c"]');
  t.equal(call('regex.split', '["x", ""]'), '[""]');
  t.equal(call('regex.replace', '["2024-01-31", "(\\\\d+)-(\\\\d+)-(\\\\d+)", "$3/$2/${1}"]'), '"31/01/2024"');
  t.equal(call('regex.replace', '["aXbX", "X", "$$"]'), '"a$b$"');
});

t.test('regex.template_match', async (t) => {
  t.equal(call('regex.template_match', '["urn:svc:{[a-z]+}:v{[0-9]+}", "urn:svc:orders:v2", "{", "}"]'), 'true');
  t.equal(call('regex.template_match', '["urn:svc:{[a-z]+}", "urn:svc:ORDERS", "{", "}"]'), 'false');
  t.equal(call('regex.template_match', '["a.b<.*>", "axbc", "<", ">"]'), 'false', 'literal text is quoted');
});

t.test('glob.match: delimiters, super-globs, classes and alternatives', async (t) => {
  t.equal(call('glob.match', '["*.example.com", ["."], "api.example.com"]'), 'true');
  t.equal(call('glob.match', '["*.example.com", ["."], "a.b.example.com"]'), 'false', '* stops at a delimiter');
  t.equal(call('glob.match', '["**.example.com", ["."], "a.b.example.com"]'), 'true');
  t.equal(call('glob.match', '["*", [], "a.b"]'), 'false', 'an empty list means the default "." delimiter');
  t.equal(call('glob.match', '["*", null, "a.b"]'), 'true', 'null means no delimiters');
  t.equal(call('glob.match', '["tools/*", ["/"], "tools/read"]'), 'true');
  t.equal(call('glob.match', '["tools/*", ["/"], "tools/a/b"]'), 'false');
  t.equal(call('glob.match', '["[a-c]?t", [], "bat"]'), 'true');
  t.equal(call('glob.match', '["[!a-c]at", [], "bat"]'), 'false');
  t.equal(call('glob.match', '["{read,write}_*", [], "write_file"]'), 'true');
  t.equal(call('glob.match', '["\\\\*lit", [], "*lit"]'), 'true', 'escaped metacharacters');
  t.equal(call('glob.match', '["{a,b", [], "a"]'), '', 'an unbalanced pattern is an error');
  t.equal(call('glob.quote_meta', '["*.a?{b}"]'), '"\\\\*.a\\\\?\\\\{b\\\\}"');
});
