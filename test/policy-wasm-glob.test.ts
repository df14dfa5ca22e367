// glob.match of simple patterns (literals, `*`, `**`) is decided inside the
// runtime; other patterns and operands go to the host built-in. Both must
// agree: every case is checked against the host implementation, through the
// real compiler and the unmodified npm loader.
import t from 'tap';
import { compile } from '../gateway/policy/compile.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import { policyBuiltins } from '../gateway/policy/engine/loader-builtins.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const HOST_GLOB = `${HOST_PREFIX}glob.match`;

function globEngine(): { engine: PolicyEngine; hostCalls: () => number } {
  const wasm = compile({ modules: { 'g.rego': 'package g\nimport rego.v1\nr := glob.match(input.p, input.d, input.s)\n' }, entrypoints: ['g/r'] });
  const host = policyBuiltins()[HOST_GLOB];
  if (host === undefined) throw new Error(`no ${HOST_GLOB} host built-in`);
  let calls = 0;
  const engine = new PolicyEngine(wasm, {
    revision: 'test',
    entrypoint: 'g/r',
    builtins: { [HOST_GLOB]: (...args: unknown[]) => { calls++; return host(...args); } },
  });
  return { engine, hostCalls: () => calls };
}

function result(engine: PolicyEngine, p: unknown, d: unknown, s: unknown): unknown {
  const rs = engine.evaluate({ p, d, s }) as { result: unknown }[];
  return rs.length === 0 ? undefined : rs[0]?.result;
}

t.test('simple patterns are matched in the runtime, as the host matches them', async (t) => {
  const { engine, hostCalls } = globEngine();
  const cases: [string, unknown, string, boolean][] = [
    ['*', null, 'anything.at/all', true],
    ['*.example.com', ['.'], 'api.example.com', true],
    ['*.example.com', ['.'], 'a.b.example.com', false],
    ['**.example.com', ['.'], 'a.b.example.com', true],
    ['*.example.com', null, 'a.b.example.com', true],
    ['*.example.com', [], 'a.b.example.com', false],
    ['*.localhost', null, 'localhost', false],
    ['raw.githubusercontent.com', ['.'], 'raw.githubusercontent.com', true],
    ['raw.githubusercontent.com', ['.'], 'raw.githubusercontent.co', false],
    ['/**/var/sandbox/**', ['/'], '/home/u/var/sandbox/x/y/', true],
    ['/*/var/sandbox/**', ['/'], '/home/u/var/sandbox/x/', false],
    ['read_*', null, 'read_text_file', true],
    ['read_*', null, 'write_file', false],
    ['a*b*c', null, 'aXXbYYbZc', true],
    ['a*b*c', null, 'aXXbYYcZ', false],
    ['', null, '', true],
    ['', null, 'x', false],
    ['***', ['.'], 'a.b', true],
    ['ü*', null, 'über', true],
  ];
  for (const [p, d, s, want] of cases) {
    const before = hostCalls();
    t.equal(result(engine, p, d, s), want, `${JSON.stringify([p, d, s])}`);
    t.equal(hostCalls(), before, `${p} needs no host call`);
  }
});

t.test('other patterns and operands fall back to the host built-in', async (t) => {
  const { engine, hostCalls } = globEngine();
  const cases: [unknown, unknown, unknown, unknown][] = [
    ['?.example.com', ['.'], 'a.example.com', true],
    ['[ab].x', null, 'c.x', false],
    ['{api,www}.example.com', ['.'], 'www.example.com', true],
    ['\\*', null, '*', true],
    ['*.x', ['ab'], 'q.x', true],
    ['*', 'not-an-array', 'x', undefined],
    [1, null, 'x', undefined],
    ['*', null, 2, undefined],
    ['{unclosed', null, 'x', undefined],
  ];
  for (const [p, d, s, want] of cases) {
    const before = hostCalls();
    t.same(result(engine, p, d, s), want, `${JSON.stringify([p, d, s])}`);
    t.equal(hostCalls(), before + 1, `${JSON.stringify(p)} goes to the host`);
  }
});
