import t from 'tap';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
/** Calls a host built-in over the wire: argument array text in, result text ("" = undefined) out. */
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);

t.test('string functions use code point indices', async (t) => {
  t.equal(call('indexof', '["héllo wörld", "wö"]'), '6');
  t.equal(call('indexof', '["abc", "z"]'), '-1');
  t.equal(call('indexof_n', '["abab", "ab"]'), '[0,2]');
  t.equal(call('substring', '["héllo", 1, 3]'), '"éll"');
  t.equal(call('substring', '["héllo", 2, -1]'), '"llo"');
  t.equal(call('substring', '["abc", 5, 1]'), '""');
  t.equal(call('substring', '["abc", -1, 1]'), '', 'a negative offset is an error');
  t.equal(call('strings.reverse', '["añb"]'), '"bña"');
  t.equal(call('replace', '["aaa", "a", "b"]'), '"bbb"');
  t.equal(call('strings.count', '["cheese", "e"]'), '3');
  t.equal(call('trim_space', '["\\t hi \\n"]'), '"hi"');
  t.equal(call('format_int', '[255, 16]'), '"ff"');
  t.equal(call('format_int', '[-7.9, 2]'), '"-111"', 'truncates toward zero');
  t.equal(call('format_int', '[1, 3]'), '', 'only bases 2, 8, 10 and 16');
});

t.test('strings.replace_n applies patterns in key order without overlap', async (t) => {
  t.equal(call('strings.replace_n', '[{"a": "1", "ab": "2"}, "abab"]'), '"1b1b"');
  t.equal(call('strings.replace_n', '[{"<": "&lt;", ">": "&gt;"}, "<i>"]'), '"&lt;i&gt;"');
  t.equal(call('strings.replace_n', '[{"a": 1}, "a"]'), '', 'values must be strings');
});

t.test('any_prefix_match / any_suffix_match accept strings, arrays and sets', async (t) => {
  t.equal(call('strings.any_prefix_match', '["/api/v1", ["/admin", "/api"]]'), 'true');
  t.equal(call('strings.any_prefix_match', '[{"x", "y"}, "z"]'), 'false');
  t.equal(call('strings.any_suffix_match', '[["a.txt", "b.md"], {".md"}]'), 'true');
});

t.test('sprintf follows Go fmt', async (t) => {
  const cases: [string, string][] = [
    ['["%d items", [3]]', '"3 items"'],
    ['["%05d|%-4d|%x|%X|%o|%b", [42, 7, 255, 255, 8, 5]]', '"00042|7   |ff|FF|10|101"'],
    ['["%.3f %e %g", [3.14159, 1234.5, 0.000012]]', '"3.142 1.234500e+03 1.2e-05"'],
    ['["%v and %v", [1.5, 2]]', '"1.5 and 2"'],
    ['["%s is %v", ["x", true]]', '"x is true"'],
    ['["%v", [{"b": [1, "two"], "a": {3}}]]', '"{\\"a\\": {3}, \\"b\\": [1, \\"two\\"]}"'],
    ['["%q", ["hi"]]', '"\\"hi\\""'],
    ['["%T %T %T", [1, 1.5, "s"]]', '"int float64 string"'],
    ['["100%%", []]', '"100%"'],
    ['["%d", [12345678901234567890123]]', '"12345678901234567890123"'],
    ['["%d %d", [1]]', '"1 %!d(MISSING)"'],
    ['["%d", [1, 2]]', '"1%!(EXTRA int=2)"'],
    ['["%d", ["x"]]', '"%!d(string=x)"'],
    ['["%6.2f|%-6s|", [3.14159, "ab"]]', '"  3.14|ab    |"'],
  ];
  for (const [args, want] of cases) t.equal(call('sprintf', args), want, args);
  t.equal(call('sprintf', '["%d", 1]'), '', 'the operand list must be an array');
});

t.test('strings.render_template renders Go text/template', async (t) => {
  t.equal(call('strings.render_template', '["Hello {{.user.name}}!", {"user": {"name": "ada"}}]'), '"Hello ada!"');
  t.equal(call('strings.render_template', '["{{range $i, $x := .xs}}{{if $i}}, {{end}}{{$x}}{{end}}", {"xs": ["a", "b", "c"]}]'), '"a, b, c"');
  t.equal(call('strings.render_template', '["{{if .on}}yes{{else}}no{{end}}", {"on": false}]'), '"no"');
  t.equal(call('strings.render_template', '["{{.n}}", {"n": 42}]'), '"42"');
  t.equal(call('strings.render_template', '["{{.missing}}", {}]'), '', 'a missing key is an error');
  t.equal(call('strings.render_template', '["{{if .x}}", {"x": 1}]'), '', 'an unterminated block is an error');
});
