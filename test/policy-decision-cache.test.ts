/**
 * A pure policy's decisions are reused for the same readable input
 * (decision-cache.ts); anything that could make two evaluations of the same
 * input differ keeps the cache off.
 */
import t from 'tap';
import { compile } from '../gateway/policy/compile.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import type { EngineOptions } from '../gateway/policy/engine/engine.js';
import type { PolicyInput } from '../gateway/policy/engine/decision.js';

const HEADER = 'package portcullis\nimport rego.v1\n';

function engineFor(body: string, options: Partial<EngineOptions> = {}): PolicyEngine {
  const wasm = compile({ modules: { 'p.rego': HEADER + body }, entrypoints: ['portcullis/decision'] });
  return new PolicyEngine(wasm, { revision: 'r', onFailure: () => undefined, ...options });
}

function input(name: string, tool: string, timeNs = 1): PolicyInput {
  return {
    agent: { id: `spiffe://t/agent/${name}`, name, auth: 'mtls', roles: [] },
    message: { direction: 'request', kind: 'request', method: 'tools/call', server: 's', tool, arguments: {} },
    context: { time_ns: timeNs },
  };
}

const BY_NAME = `
default decision := {"allow": false, "reasons": ["not demo"]}
decision := {"allow": true, "reasons": [], "classification": [input.message.tool]} if input.agent.name == "demo"
`;

t.test('the same readable input is decided once; what the policy cannot read does not matter', async (t) => {
  const engine = engineFor(BY_NAME);
  const first = engine.decide(input('demo', 'a', 1));
  t.same(first, { allow: true, reasons: [], classification: ['a'], revision: 'r' });
  t.equal(engine.cachedDecisions, 1);
  t.equal(engine.decide(input('demo', 'a', 2)), first, 'another time_ns (unread): the kept decision');
  t.equal(engine.cachedDecisions, 1);
  t.same(engine.decide(input('demo', 'b')), { allow: true, reasons: [], classification: ['b'], revision: 'r' }, 'another tool: evaluated');
  t.same(engine.decide(input('eve', 'a')), { allow: false, reasons: ['not demo'], revision: 'r' }, 'a policy deny is kept like an allow');
  t.equal(engine.cachedDecisions, 3);
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.reasons) && Object.isFrozen(first.classification), 'shared decisions cannot be changed');
});

t.test('the cache is bounded, least recently used out', async (t) => {
  const engine = engineFor(BY_NAME, { decisionCache: 2 });
  const a = engine.decide(input('demo', 'a'));
  engine.decide(input('demo', 'b'));
  t.equal(engine.decide(input('demo', 'a')), a, 'a is used again: most recent');
  engine.decide(input('demo', 'c'));
  t.equal(engine.cachedDecisions, 2);
  t.equal(engine.decide(input('demo', 'a')), a, 'b went out, not a');
  t.not(engine.decide(input('demo', 'b')), engine.decide(input('demo', 'c')));
});

t.test('nothing is kept where two evaluations of one input could differ, or when asked not to', async (t) => {
  const cases: Array<[string, string, Partial<EngineOptions>]> = [
    ['the clock', 'decision := {"allow": time.now_ns() > 0, "reasons": []} if input.agent.name', {}],
    ['the whole input', 'decision := {"allow": count(input) > 0, "reasons": []}', {}],
    ['a print', 'decision := {"allow": true, "reasons": []} if { print(input.agent.name) }', {}],
    ['decisionCache 0', BY_NAME, { decisionCache: 0 }],
    ['extra host built-ins', BY_NAME, { builtins: { 'custom.fn': () => true } }],
  ];
  for (const [name, body, options] of cases) {
    const engine = engineFor(body, options);
    const decision = engine.decide(input('demo', 'a'));
    t.equal(decision.allow, true, `${name}: decided`);
    t.not(engine.decide(input('demo', 'a')), decision, `${name}: evaluated again`);
    t.equal(engine.cachedDecisions, 0, name);
  }
});

t.test('failures are never kept', async (t) => {
  const engine = engineFor('decision := {"allow": true, "reasons": []} if input.agent.name == "demo"\ndecision := {"allow": false, "reasons": []} if input.message.tool == "conflict"');
  t.equal(engine.decide(input('demo', 'conflict')).allow, false, 'conflicting values: deny');
  t.equal(engine.cachedDecisions, 0);
  t.equal(engine.decide(input('other', 'x')).allow, false, 'undefined decision: deny');
  t.equal(engine.cachedDecisions, 0);
  t.equal(engine.decide(input('demo', 'x')).allow, true);
  t.equal(engine.cachedDecisions, 1);
});

t.test('every part of a kept decision is read-only', async (t) => {
  const engine = engineFor(
    'decision := {"allow": true, "reasons": [], "hold": {"approvers": ["a"], "timeout_s": 5}, "rate": {"bucket": "b", "capacity": 1, "refill_per_s": 1}, "redact": ["secrets"]} if input.agent.name',
  );
  const decision = engine.decide(input('demo', 'a'));
  t.equal(engine.cachedDecisions, 1);
  for (const part of [decision, decision.hold, decision.hold?.approvers, decision.rate, decision.redact]) t.ok(Object.isFrozen(part));
  t.throws(() => (decision.redact as string[]).push('x'), TypeError);
});

t.test('changing the data object handed to the engine changes nothing it decides', async (t) => {
  const data = { allowed: ['demo'] };
  const engine = engineFor(
    'decision := {"allow": input.agent.name in data.allowed, "reasons": []}\ndecision := {"allow": false, "reasons": ["x"]} if input.message.tool == "conflict"',
    { data },
  );
  t.equal(engine.decide(input('demo', 'a')).allow, true);
  data.allowed = [];
  t.equal(engine.decide(input('demo', 'conflict')).allow, false, 'a failed evaluation: the next one starts from a fresh instance');
  t.equal(engine.decide(input('demo', 'b')).allow, true, 'which still has the data as it was handed over');
});
