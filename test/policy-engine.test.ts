import t from 'tap';
import { compile } from '../gateway/policy/index.js';
import { PolicyEngine, PolicyLoadError } from '../gateway/policy/engine/engine.js';
import type { EngineFailure } from '../gateway/policy/engine/engine.js';
import type { PolicyInput } from '../gateway/policy/engine/decision.js';
import { policyBuiltins } from '../gateway/policy/engine/loader-builtins.js';

const HEADER = 'package portcullis\nimport rego.v1\n';

function engineFor(body: string, options: { data?: unknown; maximum?: number; entrypoint?: string } = {}) {
  const failures: EngineFailure[] = [];
  const wasm = compile({ modules: { 'p.rego': HEADER + body }, entrypoints: ['portcullis/decision'] });
  const engine = new PolicyEngine(wasm, {
    revision: 'rev-1',
    data: options.data,
    entrypoint: options.entrypoint,
    memory: { initial: 2, maximum: options.maximum ?? 64 },
    onFailure: (f) => failures.push(f),
  });
  return { engine, failures };
}

function input(name: string, extra: Record<string, unknown> = {}): PolicyInput {
  return {
    agent: { id: `spiffe://t/agent/${name}`, name, auth: 'mtls', roles: [] },
    message: { direction: 'request', kind: 'request', method: 'tools/call', server: 's', tool: 't', arguments: extra },
    context: { time_ns: 1 },
  };
}

const ALLOW_DEMO = `
default decision := {"allow": false, "reasons": ["nope"]}
decision := {"allow": true, "reasons": [], "rate": {"bucket": "b", "capacity": 2, "refill_per_s": 1}, "hold": null} if input.agent.name == "demo"
`;

t.test('decisions come from the real loader and carry the revision', async (t) => {
  const { engine, failures } = engineFor(ALLOW_DEMO);
  t.same(engine.decide(input('demo')), { allow: true, reasons: [], rate: { bucket: 'b', capacity: 2, refill_per_s: 1 }, revision: 'rev-1' });
  t.same(engine.decide(input('mallory')), { allow: false, reasons: ['nope'], revision: 'rev-1' });
  t.equal(engine.revision, 'rev-1');
  t.same(failures, []);
});

t.test('data is loaded as base documents', async (t) => {
  const { engine } = engineFor('decision := {"allow": input.agent.name in data.allowed}', { data: { allowed: ['a'] } });
  t.equal(engine.decide(input('a')).allow, true);
  t.equal(engine.decide(input('b')).allow, false);
});

t.test('an undefined decision is a deny with a logged reason', async (t) => {
  const { engine, failures } = engineFor('decision := {"allow": true} if input.agent.name == "demo"');
  t.same(engine.decide(input('other')), { allow: false, reasons: ['policy evaluation failed'], revision: 'rev-1' });
  t.same(failures, [{ revision: 'rev-1', entrypoint: 'portcullis/decision', reason: 'decision undefined' }]);
});

t.test('malformed decisions are denies', async (t) => {
  const cases: Array<[string, string]> = [
    ['decision := {"allow": "yes"}', 'malformed decision: allow is not a boolean'],
    ['decision := true', 'malformed decision: not an object'],
    ['decision := {"allow": true, "reasons": [1]}', 'malformed decision: reasons is not an array of strings'],
    ['decision := {"allow": true, "hold": {"approvers": [], "timeout_s": 10}}', 'malformed decision: hold.approvers is not a non-empty array of strings'],
    ['decision := {"allow": true, "rate": {"bucket": "b", "capacity": 0, "refill_per_s": 1}}', 'malformed decision: rate.capacity is not a number >= 1'],
    ['decision := {"allow": true, "redact": "secrets"}', 'malformed decision: redact is not an array of strings'],
  ];
  for (const [body, reason] of cases) {
    const { engine, failures } = engineFor(body);
    t.equal(engine.decide(input('demo')).allow, false, body);
    t.equal(failures[0]?.reason, reason, body);
  }
});

t.test('an evaluation error (conflicting rule values) is a deny, and the engine recovers', async (t) => {
  const { engine, failures } = engineFor(`
decision := {"allow": true} if input.message.arguments.x == 1
decision := {"allow": false} if input.message.arguments.y == 1
`);
  const verdict = engine.decide(input('demo', { x: 1, y: 1, secret: 'hunter2' }));
  t.equal(verdict.allow, false);
  t.match(failures[0]?.reason, /^abort: eval_conflict_error$/);
  t.notMatch(JSON.stringify(failures), /hunter2/, 'no input value is logged');
  t.equal(engine.decide(input('demo', { x: 1 })).allow, true, 'a fresh instance serves the next decision');
});

// Policies that read the arguments: the engine passes a policy only the input it can read (see the projection test).
const ALLOW_READING_ARGUMENTS = 'decision := {"allow": true} if input.message.arguments';

t.test('memory is bounded: an input beyond the maximum is a deny, not a crash', async (t) => {
  const { engine, failures } = engineFor(ALLOW_READING_ARGUMENTS, { maximum: 8 });
  const huge = 'x'.repeat(1024 * 1024);
  t.equal(engine.decide(input('demo', { blob: huge })).allow, false);
  t.match(failures[0]?.reason, /memory limit exceeded|trap/);
  t.equal(engine.decide(input('demo', { blob: 'small' })).allow, true);
});

t.test('inputs that are not plain JSON never reach the policy', async (t) => {
  const { engine, failures } = engineFor(ALLOW_READING_ARGUMENTS);
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const bad: unknown[] = [10n, circular, () => 1, Number.NaN, Infinity, new Date(0), new Map([[1, 2]]), Symbol('s'), [undefined]];
  for (const value of bad) {
    const verdict = engine.decide(input('demo', { value: value as never }));
    t.equal(verdict.allow, false, String(typeof value));
  }
  t.equal(failures.length, bad.length);
  for (const f of failures) t.match(f.reason, /^input rejected: not JSON-serialisable/);
  t.equal(engine.decide(undefined as unknown as PolicyInput).allow, false, 'no input at all');
  // Absent optional fields (undefined properties) are fine.
  t.equal(engine.decide({ ...input('demo'), tool: undefined }).allow, true);
});

t.test('a module that is not WebAssembly, or lacks the entrypoint, is refused at load', async (t) => {
  t.throws(() => new PolicyEngine(new Uint8Array([1, 2, 3, 4]), { revision: 'x' }), PolicyLoadError);
  const wasm = compile({ modules: { 'p.rego': `${HEADER}other := true` }, entrypoints: ['portcullis/other'] });
  t.throws(() => new PolicyEngine(wasm, { revision: 'x' }), { name: 'PolicyLoadError', message: /no entrypoint "portcullis\/decision"/ });
  t.throws(() => new PolicyEngine(wasm, { revision: 'x', entrypoint: 'portcullis/other', memory: { initial: 4, maximum: 2 } }), PolicyLoadError);
});

t.test('evaluate() serves other entrypoints and rejects unknown ones', async (t) => {
  const wasm = compile({ modules: { 'p.rego': `${HEADER}decision := {"allow": true}\nanswer := 42` }, entrypoints: ['portcullis/decision', 'portcullis/answer'] });
  const engine = new PolicyEngine(wasm, { revision: 'r' });
  t.same(engine.evaluate({}, 'portcullis/answer'), [{ result: 42 }]);
  t.throws(() => engine.evaluate({}, 'portcullis/nope'), { name: 'PolicyEvaluationError' });
});

t.test('modules built by the real OPA get JSON-typed host built-ins the npm loader lacks', async (t) => {
  const builtins = policyBuiltins();
  const call = (name: string, ...args: unknown[]): unknown => (builtins[name] as (...a: unknown[]) => unknown)(...args);
  t.equal(call('net.cidr_contains', '10.0.0.0/8', '10.1.2.3'), true);
  t.same(call('object.union', { a: 1 }, { b: 2 }), { a: 1, b: 2 });
  t.equal(call('net.cidr_contains', 'not a cidr', 'x'), undefined, 'a built-in error is undefined, as in OPA');
  t.type(builtins['portcullis/net.cidr_contains'], 'function', 'and the value-text wire for our own modules');
});
