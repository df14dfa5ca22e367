import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { RegoError, type Body, type Expr, type Rule, type Term } from '../gateway/policy/rego/ast.js';
import { tokenize } from '../gateway/policy/rego/lexer.js';
import { parseModule, parseQueryBody } from '../gateway/policy/rego/parser.js';

// ---- a compact rendering of the AST, so expectations stay readable ----------

function term(x: Term): string {
  switch (x.type) {
    case 'null': return 'null';
    case 'boolean': return String(x.value);
    case 'number': return `#${x.value}`;
    case 'string': return JSON.stringify(x.value);
    case 'var': return x.name;
    case 'ref': return `${term(x.head)}${x.path.map((p) => (p.type === 'string' && /^\w+$/.test(p.value) ? `.${p.value}` : `[${term(p)}]`)).join('')}`;
    case 'array': return `[${x.items.map(term).join(', ')}]`;
    case 'set': return x.items.length === 0 ? 'set()' : `{${x.items.map(term).join(', ')}}`;
    case 'object': return `{${x.entries.map(([k, v]) => `${term(k)}: ${term(v)}`).join(', ')}}`;
    case 'arraycompr': return `[${term(x.head)} | ${body(x.body)}]`;
    case 'setcompr': return `{${term(x.head)} | ${body(x.body)}}`;
    case 'objectcompr': return `{${term(x.key)}: ${term(x.value)} | ${body(x.body)}}`;
    case 'call': return `${term(x.fn)}(${x.args.map(term).join(', ')})`;
  }
}

function expr(x: Expr): string {
  let s: string;
  switch (x.kind) {
    case 'term': s = term(x.term); break;
    case 'unify': s = `${term(x.left)} = ${term(x.right)}`; break;
    case 'assign': s = `${term(x.left)} := ${term(x.right)}`; break;
    case 'some-decl': s = `some ${x.vars.map((v) => v.name).join(', ')}`; break;
    case 'some-in': s = `some ${x.key ? `${term(x.key)}, ` : ''}${term(x.value)} in ${term(x.collection)}`; break;
    case 'every': s = `every ${x.key ? `${term(x.key)}, ` : ''}${term(x.value)} in ${term(x.domain)} { ${body(x.body)} }`; break;
  }
  return `${x.negated ? 'not ' : ''}${s}${x.with.map((w) => ` with ${term(w.target)} as ${term(w.value)}`).join('')}`;
}

function body(b: Body): string {
  return b.map(expr).join('; ');
}

function rule(r: Rule): string {
  const h = r.head;
  let s = `${r.isDefault ? 'default ' : ''}${term(h.ref)}`;
  if (h.args) s += `(${h.args.map(term).join(', ')})`;
  if (h.contains) s += ` contains ${term(h.contains)}`;
  if (h.value) s += ` ${h.assign ? ':=' : '='} ${term(h.value)}`;
  if (r.body.length > 0) s += ` if { ${body(r.body)} }`;
  for (const e of r.elses) s += ` else${e.value ? ` = ${term(e.value)}` : ''}${e.body.length > 0 ? ` if { ${body(e.body)} }` : ''}`;
  return s;
}

const q = (src: string): string => body(parseQueryBody(src, 'q.rego'));
const rules = (src: string): string[] => parseModule(`package p\n${src}`, 'p.rego').rules.map(rule);

function parseError(fn: () => unknown): RegoError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RegoError) return e;
    throw e;
  }
  throw new Error('expected a rego_parse_error');
}

// ---- operators ----------------------------------------------------------------

t.test('infix operators: precedence and associativity', async (t) => {
  const cases: Array<[string, string]> = [
    ['a + b * c', 'plus(a, mul(b, c))'],
    ['a * b + c', 'plus(mul(a, b), c)'],
    ['a - b - c', 'minus(minus(a, b), c)'],
    ['a / b % c * d', 'mul(rem(div(a, b), c), d)'],
    ['a | b & c', 'or(a, and(b, c))'],
    ['a & b | c', 'or(and(a, b), c)'],
    ['a + b & c', 'and(plus(a, b), c)'],
    ['a | b == c', 'equal(or(a, b), c)'],
    ['a == b != c', 'neq(equal(a, b), c)'],
    ['a < b; a <= b; a > b; a >= b', 'lt(a, b); lte(a, b); gt(a, b); gte(a, b)'],
    ['x in y == z', 'internal.member_2(x, equal(y, z))'],
    ['x == y in z', 'internal.member_2(equal(x, y), z)'],
    ['x in y in z', 'internal.member_2(internal.member_2(x, y), z)'],
    ['k, v in c', 'internal.member_3(k, v, c)'],
    ['k, v in c == d', 'internal.member_3(k, v, equal(c, d))'],
    ['(a + b) * c', 'mul(plus(a, b), c)'],
    ['x = a + b', 'x = plus(a, b)'],
    ['x := a == b', 'x := equal(a, b)'],
    ['x := y in z', 'x := internal.member_2(y, z)'],
    ['f(a + b, c in d)', 'f(plus(a, b), internal.member_2(c, d))'],
  ];
  for (const [src, want] of cases) t.equal(q(src), want, src);
});

t.test('minus: negative literals, unary and binary minus', async (t) => {
  t.equal(q('-1'), '#-1');
  t.equal(q('- 2.5e3'), '#-2.5e3');
  t.equal(q('x-1'), 'minus(x, #1)');
  t.equal(q('x - -1'), 'minus(x, #-1)');
  t.equal(q('-x'), 'minus(#0, x)');
  t.equal(q('-x.y * 2'), 'mul(minus(#0, x.y), #2)');
  t.equal(q('[1, -1]'), '[#1, #-1]');
});

t.test('line breaks end a literal unless the expression obviously continues', async (t) => {
  t.equal(q('x := 1\ny := 2'), 'x := #1; y := #2');
  t.equal(q('x := 1 +\n  2'), 'x := plus(#1, #2)');
  t.equal(q('x := 1\n  + 2'), 'x := plus(#1, #2)', 'an operator that cannot start a literal continues');
  t.equal(q('x := 1\n-1 < y'), 'x := #1; lt(#-1, y)', '`-` at the start of a line starts a new literal');
  t.equal(q('x := [1\n-1]'), 'x := [minus(#1, #1)]', 'inside brackets `-` stays binary');
  t.equal(q('f(\n  a,\n  b\n)'), 'f(a, b)');
  t.equal(q('x := {\n  "a": 1,\n  "b": [\n    2,\n  ],\n}'), 'x := {"a": #1, "b": [#2]}');
  t.equal(q('x\n[1] = y'), 'x; [#1] = y', 'a ref suffix must follow its term directly');
  t.equal(q('allow\n  with input as 1\n  with data.a as 2'), 'allow with input as #1 with data.a as #2');
  t.equal(q('x := [y | y := 1\n-1 < y]'), 'x := [y | y := #1; lt(#-1, y)]', 'comprehension bodies separate literals again');
  t.equal(q('a; b;c'), 'a; b; c');
});

// ---- terms --------------------------------------------------------------------

t.test('scalars', async (t) => {
  t.equal(q('null; true; false'), 'null; true; false');
  t.equal(q('0; 12; 1.5; 1e3; 2.5E-7; .5; 01'), '#0; #12; #1.5; #1e3; #2.5E-7; #0.5; #1', 'numbers keep their text, JSON-compatible');
  t.equal(q('123456789012345678901234567890'), '#123456789012345678901234567890', 'no precision lost');
  t.equal(q(String.raw`"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"`), JSON.stringify('a"b\\c/d\b\f\n\r\té😀'));
  t.equal(q('`raw \\n "x"\nsecond line`'), JSON.stringify('raw \\n "x"\nsecond line'));
});

t.test('collections and comprehensions', async (t) => {
  t.equal(q('{}'), '{}', '{} is an empty object');
  t.equal(q('{x}'), '{x}', '{ x } is a set');
  t.equal(q('{1, 2,}'), '{#1, #2}');
  t.equal(q('set()'), 'set()');
  t.equal(q('{k: v}'), '{k: v}');
  t.equal(q('{"a": 1, [1]: {2}, {3: 4}: null}'), '{"a": #1, [#1]: {#2}, {#3: #4}: null}', 'object keys may be any term');
  t.equal(q('[]; [1]; [1, [2, 3]]'), '[]; [#1]; [#1, [#2, #3]]');
  t.equal(q('{a + 1, b}'), '{plus(a, #1), b}');
  t.equal(q('[x | x := 1]'), '[x | x := #1]');
  t.equal(q('{x | some x in y}'), '{x | some x in y}');
  t.equal(q('{k: v | some k, v in o}'), '{k: v | some k, v in o}');
  t.equal(q('{k + 1: v | k := 1; v := 2}'), '{plus(k, #1): v | k := #1; v := #2}');
  t.equal(q('[x | x := 1\n  x > 0]'), '[x | x := #1; gt(x, #0)]');
  t.equal(q('{a | b, c}'), '{or(a, b), c}', 'not a comprehension when the body fails at a comma (as in OPA)');
  t.equal(q('[a | b, c]'), '[or(a, b), c]');
  t.equal(q('{"k": a | b, "j": 1}'), '{"k": or(a, b), "j": #1}');
  t.equal(q('[[x | x := 1][0]]'), '[[x | x := #1][#0]]');
});

t.test('refs and calls', async (t) => {
  t.equal(q('a.b[c]["d-e"][1]'), 'a.b[c]["d-e"][#1]');
  t.equal(q('input.x; data.a.b'), 'input.x; data.a.b');
  t.equal(q('input'), 'input', 'a bare root document is a var');
  t.equal(q('x[_]'), 'x[_]');
  t.equal(q('a[b[c]].d'), 'a[b[c]].d');
  t.equal(q('a.default.if'), 'a.default.if', 'keywords are plain names after a dot');
  t.equal(q('count(x)'), 'count(x)');
  t.equal(q('f()'), 'f()');
  t.equal(q('strings.any_prefix_match(a, b)'), 'strings.any_prefix_match(a, b)');
  t.equal(q('data.lib.f(1, 2)'), 'data.lib.f(#1, #2)');
  t.equal(q('f(x)[0].y'), 'f(x)[#0].y', 'refs on call results');
  t.equal(q('contains(x, "a")'), 'contains(x, "a")', '`contains` names the builtin outside rule heads');
  t.equal(q('[1, 2][0]; {"a": 1}.a'), '[#1, #2][#0]; {"a": #1}.a');
  t.equal(q('(a.b).c'), 'a.b.c');
  t.equal(q('x[k, v in c]'), 'x[internal.member_3(k, v, c)]');

  const call = parseQueryBody('a.b(1)', 'q.rego')[0];
  t.match(call, { kind: 'term', term: { type: 'call', fn: { type: 'ref', head: { type: 'var', name: 'a' }, path: [{ type: 'string', value: 'b' }] } } });
  const member = parseQueryBody('x in y', 'q.rego')[0];
  t.match(member, { term: { type: 'call', fn: { type: 'ref', head: { name: 'internal' }, path: [{ value: 'member_2' }] } } }, 'dotted builtins are refs');
});

// ---- expressions ----------------------------------------------------------------

t.test('expression forms', async (t) => {
  t.equal(q('x = 1; x := 1; [a, b] := [1, 2]'), 'x = #1; x := #1; [a, b] := [#1, #2]');
  t.equal(q('not x'), 'not x');
  t.equal(q('not x = y'), 'not x = y');
  t.equal(q('not f(x) with input as 1'), 'not f(x) with input as #1');
  t.equal(q('x with input.a as 1 with data.b.c as {"d": 2} with count as mock'), 'x with input.a as #1 with data.b.c as {"d": #2} with count as mock');
  t.equal(q('some x'), 'some x');
  t.equal(q('some x, y, _'), 'some x, y, _');
  t.equal(q('some x in xs'), 'some x in xs');
  t.equal(q('some k, v in xs'), 'some k, v in xs');
  t.equal(q('some [a, b] in xs'), 'some [a, b] in xs');
  t.equal(q('some x in xs with input as 1'), 'some x in xs with input as #1');
  t.equal(q('every x in xs { x > 1 }'), 'every x in xs { gt(x, #1) }');
  t.equal(q('every k, v in {"a": 1} {\n  k != v\n  v > 0\n}'), 'every k, v in {"a": #1} { neq(k, v); gt(v, #0) }');

  const [some] = parseQueryBody('some k, v in xs', 'q.rego');
  t.match(some, { kind: 'some-in', key: { type: 'var', name: 'k' }, value: { type: 'var', name: 'v' }, collection: { name: 'xs' } });
  const [someOne] = parseQueryBody('some v in xs', 'q.rego');
  t.equal(someOne?.kind === 'some-in' && someOne.key, undefined, 'some v in xs has no key');
});

// ---- modules --------------------------------------------------------------------

t.test('package and imports', async (t) => {
  const m = parseModule('package a.b["c-d"]\nimport rego.v1\nimport future.keywords\nimport future.keywords.in\nimport data.x.y as z\nimport input.foo\nimport data\n', 'm.rego');
  t.same(m.package, ['a', 'b', 'c-d']);
  t.equal(m.file, 'm.rego');
  t.same(m.imports.map((i) => `${term(i.path)}${i.alias ? ` as ${i.alias}` : ''}`), ['rego.v1', 'future.keywords', 'future.keywords.in', 'data.x.y as z', 'input.foo', 'data']);
  t.same(m.rules, []);
  t.match(m.imports[3], { path: { type: 'ref', head: { type: 'var', name: 'data' } }, alias: 'z', loc: { line: 5, col: 1 } });
});

t.test('rule forms', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['p := 1', ['p := #1']],
    ['p = 1', ['p = #1']],
    ['p if true', ['p if { true }']],
    ['p if { true }', ['p if { true }']],
    ['p := 1 if { x; y }', ['p := #1 if { x; y }']],
    ['p if input.x == 1', ['p if { equal(input.x, #1) }']],
    ['p if {\n  a\n  b\n}\nq if c', ['p if { a; b }', 'q if { c }']],
    ['p contains x if { some x in input }', ['p contains x if { some x in input }']],
    ['p contains "a"', ['p contains "a"']],
    ['p contains x if x := 1', ['p contains x if { x := #1 }']],
    ['p[k] := v if { some k, v in input }', ['p[k] := v if { some k, v in input }']],
    ['p.q.r := 1', ['p.q.r := #1']],
    ['p.q[x].r contains y if { x := 1; y := 2 }', ['p.q[x].r contains y if { x := #1; y := #2 }']],
    ['a["b"].c := 1', ['a.b.c := #1']],
    ['f(x, [y, z]) := v if { v := x }', ['f(x, [y, z]) := v if { v := x }']],
    ['f(x) if x > 1', ['f(x) if { gt(x, #1) }']],
    ['f(x) := x', ['f(x) := x']],
    ['a.b.f(x) := 1 if true', ['a.b.f(x) := #1 if { true }']],
    ['default p := false', ['default p := false']],
    ['default p := {"a": [1, {x | x := 1}]}', ['default p := {"a": [#1, {x | x := #1}]}']],
    ['default f(_) := 1', ['default f(_) := #1']],
    ['p := 1 if false else := 2', ['p := #1 if { false } else = #2']],
    ['p = 1 if { false } else = 2 if { true }', ['p = #1 if { false } else = #2 if { true }']],
    ['p if { false } else if { true }', ['p if { false } else if { true }']],
    ['f(x) := 1 if x > 1 else := 2 if x > 0 else := 3', ['f(x) := #1 if { gt(x, #1) } else = #2 if { gt(x, #0) } else = #3']],
    ['p := 1 if {\n  false\n} else := 2 if {\n  true\n}', ['p := #1 if { false } else = #2 if { true }']],
    ['p if { a } { b }', ['p if { a }', 'p if { b }']],
    ['p if {"a": 1} == x', ['p if { equal({"a": #1}, x) }']],
    ['p if { x } == y', ['p if { equal({x}, y) }']],
    ['p if { a | b }', ['p if { {a | b} }']],
    ['p if {\n  x := n * 2 | 1\n  y := a | b\n}', ['p if { x := or(mul(n, #2), #1); y := or(a, b) }']],
    ['p if { [1, 2] }', ['p if { [#1, #2] }']],
    ['test_x if {\n  allow with input as {"a": 1}\n    with data.b as 2\n}', ['test_x if { allow with input as {"a": #1} with data.b as #2 }']],
  ];
  for (const [src, want] of cases) t.same(rules(src), want, src);

  const [r] = parseModule('package p\np := 1 if x else := 2', 'p.rego').rules;
  t.equal(r?.head.assign, true);
  t.equal(r?.elses[0]?.body.length, 0, 'else without a body');
  const [multi] = parseModule('package p\np contains x if x := 1', 'p.rego').rules;
  t.equal(multi?.head.value, undefined, 'contains rules have no value');
});

t.test('comments and whitespace', async (t) => {
  const src = '# leading\npackage p # trailing\n\n# about p\np := 1 # one\r\nq := [ # open\n  2, # two\n]\n';
  t.same(rules(src.replace('package p', '')), ['p := #1', 'q := [#2]']);
  const bom = parseModule('\ufeffpackage p\np := "# not a comment"', 'p.rego');
  t.same(bom.rules.map(rule), ['p := "# not a comment"'], 'BOM and # in strings');
  t.match(parseError(() => parseModule('\ufeffpackage 1', 'p.rego')), { loc: { line: 1, col: 9 } }, 'a BOM takes no column');
});

// ---- positions ----------------------------------------------------------------

t.test('positions are 1-based line and column of each node', async (t) => {
  const src = [
    'package p', //             1
    'import rego.v1', //        2
    '', //                      3
    'default allow := false', // 4
    '', //                      5
    'allow if {', //            6
    '  x := input.a[0]', //     7
    '  not f(x) with input as {"k": `multi', // 8
    'line`}', //                9
    '  "é😀" == y', //         10
    '}',
  ].join('\n');
  const m = parseModule(src, 'policies/p.rego');
  const [def, allow] = m.rules;
  t.match(m.imports[0], { loc: { file: 'policies/p.rego', line: 2, col: 1 } });
  t.match(def, { loc: { line: 4, col: 1 }, head: { loc: { line: 4, col: 9 }, value: { loc: { line: 4, col: 18 } } } });
  t.match(allow, { loc: { line: 6, col: 1 }, head: { ref: { loc: { line: 6, col: 1 } } } });
  const [assign, negated, eq] = allow?.body ?? [];
  t.match(assign, { kind: 'assign', loc: { line: 7, col: 3 }, left: { loc: { line: 7, col: 3 } }, right: { type: 'ref', loc: { line: 7, col: 8 }, path: [{ loc: { line: 7, col: 14 } }, { loc: { line: 7, col: 16 } }] } });
  t.match(negated, { kind: 'term', negated: true, loc: { line: 8, col: 3 }, term: { loc: { line: 8, col: 7 } }, with: [{ loc: { line: 8, col: 12 }, target: { loc: { line: 8, col: 17 } }, value: { loc: { line: 8, col: 26 } } }] });
  t.match(eq, { loc: { line: 10, col: 3 }, term: { type: 'call', loc: { line: 10, col: 3 }, fn: { loc: { line: 10, col: 8 } }, args: [{ loc: { line: 10, col: 3 } }, { loc: { line: 10, col: 11 } }] } }, 'columns count code points and continue after a multi-line raw string');
});

t.test('lexer marks whitespace and line breaks before tokens', async (t) => {
  const toks = tokenize('a.b [c]\n  -1 # x\n', 't.rego');
  t.same(toks.map((k) => [k.kind, k.text, k.line, k.col, k.wsBefore, k.nlBefore]), [
    ['ident', 'a', 1, 1, false, false],
    ['.', '.', 1, 2, false, false],
    ['ident', 'b', 1, 3, false, false],
    ['[', '[', 1, 5, true, false],
    ['ident', 'c', 1, 6, false, false],
    [']', ']', 1, 7, false, false],
    ['-', '-', 2, 3, true, true],
    ['number', '1', 2, 4, false, false],
    ['eof', '', 3, 1, true, true],
  ]);
  t.same(tokenize('if contains in every some not with as default else import package null true false iff', 't').map((k) => k.kind).slice(0, -1),
    ['if', 'contains', 'in', 'every', 'some', 'not', 'with', 'as', 'default', 'else', 'import', 'package', 'null', 'true', 'false', 'ident']);
});

// ---- errors ---------------------------------------------------------------------

t.test('syntax errors carry position and what was expected', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['package p\np := {\n  "a": 1\n  if', 'p.rego:4:3', "expected ',' or '}' to close the object started at 2:6, found keyword 'if'"],
    ['package p\np := [1, 2', 'p.rego:2:11', "expected ',' or ']' to close the array started at 2:6, found end of file"],
    ['package p\np := f(1 2)', 'p.rego:2:10', "expected ',' or ')' to close the argument list started at 2:7, found '2'"],
    ['package p\np if {\n  x := 1', 'p.rego:3:9', "expected '}' to close the body started at 2:6, found end of file"],
    ['package p\np if {\n  x := 1 y := 2\n}', 'p.rego:3:10', "expected a line break, ';' or '}' after the expression, found 'y'"],
    ['package p\np if {}', 'p.rego:2:6', "'{}' after 'if' is an empty object, not a rule body"],
    ['package p\np if { input.a: 1 }', 'p.rego:2:6', "'{...}' after 'if' is an object, not a rule body"],
    ['package p\np if { x } { }', 'p.rego:2:14', "empty body: expected at least one expression before '}'"],
    ['package p\np { true }', 'p.rego:2:3', "expected 'if' before the body of rule 'p' (Rego v1 requires 'if')"],
    ['package p\np := 1 if { x } else { y }', 'p.rego:2:22', "expected 'if' before the else body of rule 'p' (Rego v1 requires 'if')"],
    ['package p\np := 1 if { x } else y', 'p.rego:2:22', "expected ':=', '=' or 'if' after 'else' in rule 'p', found 'y'"],
    ['package p\np', 'p.rego:2:2', "expected ':=', '=', 'contains' or 'if' after rule head 'p', found end of file"],
    ['package p\nif := 1', 'p.rego:2:1', "expected a rule, import or package, found keyword 'if'"],
    ['package p\np := x with input as 1', 'p.rego:2:8', "expected a rule, import or package, found keyword 'with'"],
    ['p := 1', 'p.rego:1:1', "expected 'package' at the start of the module, found 'p'"],
    ['package p\npackage q', 'p.rego:2:1', "unexpected 'package'"],
    ['package p\nimport foo.bar', 'p.rego:2:8', 'must begin with one of data, input, future, rego'],
    ['package p\nimport future.keywords.nope', 'p.rego:2:8', 'unknown future keyword import'],
    ['package p\nimport rego.v2', 'p.rego:2:8', 'the only rego import is rego.v1'],
    ['package p\nimport rego.v1 as r', 'p.rego:2:16', "'rego' imports cannot be aliased"],
    ['package p\ndefault p := x', 'p.rego:2:14', "default rule 'p' value cannot contain a variable"],
    ['package p\ndefault p := input.x', 'p.rego:2:14', "default rule 'p' value cannot contain a reference"],
    ['package p\ndefault p', 'p.rego:2:9', "default rule 'p' must have a value"],
    ['package p\ndefault p := 1 if true', 'p.rego:2:16', "default rule 'p' cannot have a body"],
    ['package p\ndefault f(x, x) := 1', 'p.rego:2:14', "default function 'f' repeats parameter 'x'"],
    ['package p\np[x] := 1 if { x := 1 } else := 2', 'p.rego:2:25', "'else' cannot be used on rule 'p[x]' with variables in its head"],
    ['package p\np contains x if { x := 1 } else := 2', 'p.rego:2:28', "'else' cannot be used on multi-value rule 'p'"],
    ['package p\nf(x) contains 1', 'p.rego:2:6', "'contains' cannot be used with function 'f'"],
    ['package p\np if not some x', 'p.rego:2:10', "'not' cannot be applied to 'some'"],
    ['package p\np if every [x] in y { true }', 'p.rego:2:12', "'every' value must be a variable"],
    ['package p\np if every x in y', 'p.rego:2:18', "expected '{' to start the body of 'every' at 2:6, found end of file"],
    ['package p\np if every x { true }', 'p.rego:2:6', "expected 'x in xs' or 'k, v in xs' after 'every'"],
    ['package p\np if some 1', 'p.rego:2:11', "expected a variable name after 'some', found '1'"],
    ['package p\np if f(x)(y)', 'p.rego:2:10', 'only named functions can be called'],
    ['package p\np if x with f(1) as 2', 'p.rego:2:13', "expected a reference after 'with'"],
    ['package p\np if x with input 2', 'p.rego:2:19', "expected 'as' after the 'with' target, found '2'"],
    ['package p\np if a .b', 'p.rego:2:8', "expected a rule, import or package, found '.'"],
    ['package p\np if {\n  a .b\n}', 'p.rego:3:5', "expected a line break, ';' or '}' after the expression, found '.'"],
    ['package p\np if a. b', 'p.rego:2:9', "expected a name after '.', found 'b'"],
    ['package p\np if "s"[0]', 'p.rego:2:9', "a string cannot be followed by '['"],
    ['package p\np := "abc', 'p.rego:2:6', "unterminated string: expected '\"' before the end of the line"],
    ['package p\np := "a\\qb"', 'p.rego:2:8', "illegal escape sequence '\\q' in string"],
    ['package p\np := "\\u12"', 'p.rego:2:7', "'\\u' must be followed by 4 hex digits"],
    ['package p\np := "a\tb"', 'p.rego:2:8', 'illegal control character in string'],
    ['package p\np := `abc', 'p.rego:2:6', "unterminated raw string: expected a closing '`'"],
    ['package p\np := 1 ! 2', 'p.rego:2:8', "illegal '!' character"],
    ['package p\np := 1.', 'p.rego:2:8', 'expected digits after the decimal point'],
    ['package p\np := 1e', 'p.rego:2:8', 'expected digits in the exponent'],
    ['package p\np := 12abc', 'p.rego:2:8', "invalid number: unexpected 'a'"],
    ['package p\np := 00', 'p.rego:2:6', 'multiple leading zeros'],
    ['package p\np := 1e99999', 'p.rego:2:6', 'number too big'],
    ['package p\np := "é" + @', 'p.rego:2:12', "illegal character '@' (U+0040)"],
    ['package p\np := [x | x := ]', 'p.rego:2:16', "expected a term, found ']'"],
    ['package p\np := {x | x := 1', 'p.rego:2:17', "expected '}' to close the body started at 2:6, found end of file"],
    ['package p\np := (1 + 2', 'p.rego:2:12', "expected ')' to close '(' at 2:6, found end of file"],
    ['package p\np := a[1', 'p.rego:2:9', "expected ']' to close '[' at 2:7, found end of file"],
  ];
  for (const [src, where, detail] of cases) {
    const err = parseError(() => parseModule(src, 'p.rego'));
    t.equal(err.message, `${where}: rego_parse_error: ${err.detail}`, `code and position of ${JSON.stringify(src)}`);
    t.match(err.detail, detail, `detail of ${JSON.stringify(src)}`);
  }

  const empty = parseError(() => parseQueryBody('  ', 'q'));
  t.equal(empty.detail, 'empty query: expected at least one expression');
  t.match(parseError(() => parseQueryBody('x y', 'q')), { detail: "expected a line break, ';' or the end of the query after the expression, found 'y'", loc: { line: 1, col: 3 } });
  t.match(parseError(() => parseQueryBody('x;', 'q')), { detail: 'expected a term, found end of file' });
});

// ---- size ------------------------------------------------------------------------
// Parse speed is measured by `npm run bench`, never asserted here.

t.test('a large policy using every construct parses completely', async (t) => {
  // A policy far larger than the shipped default.
  const chunk = (i: number): string => `
# rule group ${i}
default allow_${i} := false

allow_${i} if {
  some tool in input.params.tools
  tool.name == "read_file"
  startswith(tool.args.path, "/srv/data/")
  not deny_${i}[tool.name]
  count([x | some x in tool.tags; x != "internal"]) > ${i % 5}
}

deny_${i} contains msg if {
  input.agent.id in {"a", "b", "c"}
  every k, v in input.labels { is_string(v); k != "" }
  msg := sprintf("denied %v", [input.agent.id])
}

status_${i} := "ok" if {
  allow_${i}
} else := "denied" if {
  deny_${i}[_]
} else := "unknown"

limits_${i}[agent] := n if {
  some agent, n in data.limits
  n * 2 + 1 >= 10 | 3 & 1
}

f_${i}(x, [y, _]) := {"a": x, "b": [y, -1.5e3], "c": {k: v | some k, v in input.obj}} if {
  x == \`raw\` with input.a as 1 with data.b.c as {"k": [1, 2]}
}
`;
  const big = `package bench\nimport rego.v1\n${Array.from({ length: 60 }, (_, i) => chunk(i)).join('')}`;
  const module = parseModule(big, 'big.rego');
  t.equal(module.rules.length, 60 * 6, 'six rules per group, sixty groups');
  t.equal(module.rules.filter((r) => r.isDefault).length, 60, 'one default per group');
  t.equal(module.rules.filter((r) => r.elses.length === 2).length, 60, 'every status rule keeps its else chain');
});

// ---- OPA's conformance cases ------------------------------------------------------

const CONFORMANCE = '/work/shared/opa-conformance';

interface ConformanceCase {
  note?: string;
  query?: string;
  modules?: string[];
  input_term?: string;
  want_error_code?: string;
}

t.test('parses every module, query and input term of the OPA conformance cases', { skip: existsSync(CONFORMANCE) ? false : `${CONFORMANCE} is not present on this machine` }, async (t) => {
  const files = [
    ...readdirSync(join(CONFORMANCE, 'cases')).flatMap((dir) => readdirSync(join(CONFORMANCE, 'cases', dir)).map((f) => join(CONFORMANCE, 'cases', dir, f))),
    ...readdirSync(join(CONFORMANCE, 'wasm-cases')).map((f) => join(CONFORMANCE, 'wasm-cases', f)),
  ].filter((f) => f.endsWith('.yaml'));
  let modules = 0;
  let mustFail = 0;
  const failures: string[] = [];
  for (const file of files) {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { cases?: ConformanceCase[] } | null;
    for (const c of doc?.cases ?? []) {
      const expectParseError = c.want_error_code === 'rego_parse_error';
      const sources: Array<[string, (s: string, f: string) => unknown, string]> = [
        ...(c.modules ?? []).map((m, i): [string, typeof parseModule, string] => [`module${i}.rego`, parseModule, m]),
        ...(c.query !== undefined ? [['query', parseQueryBody, c.query] as [string, typeof parseQueryBody, string]] : []),
        ...(c.input_term !== undefined ? [['input_term', parseQueryBody, c.input_term] as [string, typeof parseQueryBody, string]] : []),
      ];
      let failed = false;
      for (const [name, parse, src] of sources) {
        if (name.startsWith('module')) modules++;
        try {
          parse(src, name);
        } catch (e) {
          if (!(e instanceof RegoError)) throw e;
          failed = true;
          if (!expectParseError) failures.push(`${file} (${c.note ?? '?'}): ${e.message}`);
        }
      }
      if (expectParseError) {
        mustFail++;
        if (!failed) failures.push(`${file} (${c.note ?? '?'}): expected a rego_parse_error`);
      }
    }
  }
  t.comment(`${files.length} files, ${modules} modules, ${mustFail} cases expecting a parse error, ${failures.length} failures`);
  t.ok(modules > 2000, `found the conformance modules (${modules})`);
  t.same(failures, [], 'no conformance module fails to parse');
});

t.test('comprehension heads may use operators that bind tighter than |', async (t) => {
  const body = parseQueryBody('x := [c * 2 | some c in [1, 2]]; y := {c + 1 | some c in [1]}; z := {k: v - 1 | some k, v in {"a": 1}}', 'q');
  const kinds = body.map((e) => (e.kind === 'assign' ? e.right.type : e.kind));
  t.same(kinds, ['arraycompr', 'setcompr', 'objectcompr']);
  const first = body[0];
  t.match(first, { kind: 'assign', right: { type: 'arraycompr', head: { type: 'call', args: [{ type: 'var', name: 'c' }, { type: 'number', value: '2' }] } } });
  const set = parseQueryBody('s := {a & b | c, d}', 'q')[0];
  t.match(set, { kind: 'assign', right: { type: 'set', items: [{ type: 'call', fn: { name: 'or' } }, { type: 'var', name: 'd' }] } }, 'when the body fails at a comma it is a set using |');
});
