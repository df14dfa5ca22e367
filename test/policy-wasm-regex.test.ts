// regex.match in the runtime (gateway/policy/wasm/assembly/regex.ts): the
// RE2 subset it matches itself, compared with the host built-in, and what it
// leaves to the host.
import t from 'tap';
import { compile } from '../gateway/policy/compile.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import { hostBuiltinImports, hostImplementations } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

type Builtin = (...args: unknown[]) => unknown;

/** A policy answering regex.match for input pairs, and the patterns its host built-in was asked about. */
function regexPolicy(source: string, entrypoint: string): { engine: PolicyEngine; hostPatterns: unknown[] } {
  const hostPatterns: unknown[] = [];
  const builtins: Record<string, Builtin> = {};
  for (const [name, impl] of Object.entries(hostBuiltinImports() as Record<string, Builtin>)) {
    builtins[name] = name === `${HOST_PREFIX}regex.match`
      ? (...args: unknown[]) => {
          hostPatterns.push(args[0]);
          return impl(...args);
        }
      : impl;
  }
  const engine = new PolicyEngine(compile({ modules: { 'regex.rego': source }, entrypoints: [entrypoint] }), { entrypoint, revision: 'test', builtins });
  return { engine, hostPatterns };
}

const DYNAMIC = `package t
import rego.v1
each := [regex.match(p, s) | some [p, s] in input]
one := regex.match(input[0], input[1])
`;

const hostMatch = hostImplementations()['regex.match'] as (pattern: string, s: string) => boolean;

/** A seeded generator of patterns in the supported subset and of subjects. */
function generator(seed: number) {
  let state = seed;
  const rnd = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T;
  const atoms = ['a', 'b', '/', '\\.', '.', '[ab]', '[^a]', '[a-c]', '\\d', '\\w', '\\s', '\\D', '[0-9]', '[^/.]', '\\x41', '\\x{e9}', '\\/', '-', 'é', '😀', '[é😀]', '[\\d_]', '[^\\s]', '\\\\'];
  const quantifiers = ['', '', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?', '??'];
  const pattern = (depth: number): string => {
    if (depth > 2) return pick(atoms);
    switch (rnd(6)) {
      case 0: return pick(atoms);
      case 1: return `(${pattern(depth + 1)}|${pattern(depth + 1)})`;
      case 2: return `(?:${pattern(depth + 1)})${pick(quantifiers)}`;
    }
    let s = rnd(4) === 0 ? '^' : '';
    for (let i = 0, n = 1 + rnd(3); i < n; i++) s += (rnd(3) === 0 ? `(${pattern(depth + 1)})` : pick(atoms)) + pick(quantifiers);
    return rnd(4) === 0 ? `${s}$` : s;
  };
  // No \r, \v, U+2028 or non-ASCII spaces: there JavaScript's . and \s differ from RE2's (see the RE2 test below).
  const alphabet = ['a', 'b', 'c', '/', '.', '-', '0', '7', 'A', '_', ' ', '\t', '\n', 'é', '😀', '\\'];
  const subject = (): string => Array.from({ length: rnd(9) }, () => pick(alphabet)).join('');
  return { pattern, subject };
}

t.test('the runtime agrees with the host built-in on generated patterns, without calling it', async (t) => {
  const { engine, hostPatterns } = regexPolicy(DYNAMIC, 't/each');
  for (const seed of [1, 2, 3]) {
    const { pattern, subject } = generator(seed);
    const pairs = Array.from({ length: 1500 }, () => [pattern(0), subject()] as const);
    const native = (engine.evaluate(pairs, 't/each') as Array<{ result: boolean[] }>)[0]!.result;
    const disagreements = pairs.filter(([p, s], i) => hostMatch(p, s) !== native[i]);
    t.same(disagreements.slice(0, 5), [], `seed ${seed}: ${pairs.length} pairs agree`);
    const matched = native.filter(Boolean).length;
    t.ok(matched > 100 && matched < pairs.length - 100, `seed ${seed}: both outcomes are exercised (${matched} matches)`);
  }
  t.same(hostPatterns, [], 'every generated pattern was matched in the runtime');
});

t.test('RE2 semantics where JavaScript differs', async (t) => {
  const { engine } = regexPolicy(DYNAMIC, 't/one');
  const one = (p: string, s: string): unknown => (engine.evaluate([p, s], 't/one') as Array<{ result: unknown }>)[0]?.result;
  t.equal(one('^a.b$', 'a\rb'), true, '. matches everything but \\n');
  t.equal(one('^a.b$', 'a\nb'), false);
  t.equal(one('\\s', '\v'), false, '\\s is [\\t\\n\\f\\r ]');
  t.equal(one('\\s', '\u00a0'), false);
  t.equal(one('^[^a]$', '\n'), true, 'negated classes match \\n');
  t.equal(one('^😀$', '😀'), true, 'code points, not UTF-16 units');
  t.equal(one('^.$', '😀'), true);
  t.equal(one('a$', 'a\n'), false, '$ is the end of the text only');
  t.equal(one('(a*)*b', `${'a'.repeat(5_000)}c`), false, 'nested quantifiers on a long subject: no backtracking blow-up');
  t.equal(one('(a|aa)+$', 'a'.repeat(2_000)), true);
});

t.test('constant patterns are compiled once; the default policy never calls the host for them', async (t) => {
  const { engine, hostPatterns } = regexPolicy(`package t
import rego.v1
path_ok if regex.match(\`^/[^\\x00-\\x1f\\x7f\\\\%]*$\`, input.path)
number_ok if regex.match("^[1-9][0-9]{0,9}$", input.n)
`, 't/path_ok');
  t.same(engine.evaluate({ path: '/tmp/a b/c' }, 't/path_ok'), [{ result: true }]);
  t.same(engine.evaluate({ path: '/tmp/%2e%2e' }, 't/path_ok'), []);
  t.same(engine.evaluate({ path: '/tmp/\u0001' }, 't/path_ok'), []);
  t.same(hostPatterns, []);
});

t.test('patterns known only at evaluation: kept in the arena up to its cap, compiled per call past it', async (t) => {
  const { engine, hostPatterns } = regexPolicy(DYNAMIC, 't/each');
  // 100 distinct patterns (more than are kept), a big one (more than the arena holds), each asked twice.
  const patterns = Array.from({ length: 100 }, (_, i) => `^(x|${i})+y?$`);
  patterns.push('^[ab]{0,900}c{0,900}$');
  const pairs = [...patterns, ...patterns].flatMap((p, i) => [[p, `x${i % 100}x`], [p, `${'ab'.repeat(400)}c`], [p, `${i % 100}y`]] as const);
  for (let round = 0; round < 2; round++) {
    const native = (engine.evaluate(pairs, 't/each') as Array<{ result: boolean[] }>)[0]!.result;
    t.same(pairs.filter(([p, s], i) => hostMatch(p, s) !== native[i]), [], `round ${round}: ${pairs.length} answers agree with the host`);
  }
  t.same(hostPatterns, []);
});

t.test('what the runtime leaves to the host', async (t) => {
  const { engine, hostPatterns } = regexPolicy(DYNAMIC, 't/one');
  const cases: Array<[unknown, unknown]> = [
    ['(?i)abc', 'ABC'], ['\\bword', 'a word'], ['[[:alpha:]]', 'a'], ['\\pL', 'é'], ['a**', 'a'], ['*a', 'a'], ['(a', 'a'],
    ['a{2,1}', 'aa'], ['a{1001}', 'a'], ['a{', 'a{'], ['\\1', 'a'], ['x\\z', 'x'], [1, 'a'], ['a', 2],
  ];
  for (const [pattern, subject] of cases) {
    hostPatterns.length = 0;
    const got = (engine.evaluate([pattern, subject], 't/one') as Array<{ result: unknown }>)[0]?.result;
    t.same(hostPatterns, [JSON.stringify([pattern, subject])], `${JSON.stringify(pattern)} goes to the host`);
    const want = typeof pattern === 'string' && typeof subject === 'string' ? safeHost(pattern, subject) : undefined;
    t.equal(got, want, `${JSON.stringify(pattern)}: the host's answer`);
  }
});

/** The host built-in's answer; undefined where it raises (OPA's WebAssembly target makes errors undefined). */
function safeHost(pattern: string, subject: string): boolean | undefined {
  try {
    return hostMatch(pattern, subject);
  } catch {
    return undefined;
  }
}
