/**
 * The default policy (policies/) as the bench uses it: its compile time, its
 * decision latency through the unmodified npm loader (the engine's `decide`),
 * and a decider for the gateway under load whose rate classes never refuse.
 */
import path from 'node:path';
import { compileFolder } from '../gateway/policy/bundle/artifact.js';
import { DECISION_ENTRYPOINT } from '../gateway/policy/engine/decision.js';
import type { PolicyDecider, PolicyInput } from '../gateway/policy/engine/decision.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import { folderRevision } from '../gateway/policy/bundle/revision.js';
import { readPolicySources } from '../gateway/policy/bundle/sources.js';
import type { PolicySources } from '../gateway/policy/bundle/sources.js';
import { PACKAGE_ROOT } from '../gateway/server.js';
import { median, percentile } from './load.js';

export const TRUST_DOMAIN = 'portcullis.local';

function defaultPolicySources(): PolicySources {
  return readPolicySources(path.join(PACKAGE_ROOT, 'policies'));
}

/**
 * The default policy's data with every rate class raised out of reach: the
 * load would otherwise measure the demo agent's 60-call bucket, not the
 * gateway. The Rego and every other grant stay exactly as shipped, and the
 * limiter still takes a token per call.
 */
function unlimitedRateData(data: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(data) as { capabilities?: { rate_classes?: Record<string, unknown> } };
  const classes = copy.capabilities?.rate_classes;
  if (classes === undefined) throw new Error('policies/data.json has no capabilities.rate_classes: update bench/policy.ts');
  for (const name of Object.keys(classes)) classes[name] = { capacity: 1_000_000, refill_per_s: 1_000_000 };
  return copy as Record<string, unknown>;
}

/** The compiled default policy, rate classes unlimited (see unlimitedRateData). */
export function benchDecider(): PolicyDecider {
  const sources = defaultPolicySources();
  return new PolicyEngine(compileFolder(sources, [DECISION_ENTRYPOINT]), {
    revision: folderRevision(sources),
    data: unlimitedRateData(sources.data),
  });
}

/** Lets every message through: the gateway as a plain mTLS proxy. */
export const allowAllDecider: PolicyDecider = {
  revision: 'bench-allow-all',
  decide: () => ({ allow: true, reasons: [], revision: 'bench-allow-all' }),
};

/**
 * Answers tool results (direction response, kind result) itself and asks
 * `decider` about everything else: the gateway without response inspection.
 */
export function withoutResultInspection(decider: PolicyDecider): PolicyDecider {
  return {
    get revision() {
      return decider.revision;
    },
    decide: (input) =>
      input.message.direction === 'response' && input.message.kind === 'result'
        ? { allow: true, reasons: [], revision: decider.revision }
        : decider.decide(input),
  };
}

/** What the gateway asks for a `tools/call` of server-everything's echo by the demo agent. */
function echoCallInput(): PolicyInput {
  return {
    agent: {
      id: `spiffe://${TRUST_DOMAIN}/agent/demo`,
      name: 'demo',
      auth: 'mtls',
      roles: [],
      cert: { subject: 'CN=demo', serial: '0a1b2c3d', fingerprint: 'sha256:'.padEnd(71, '0') },
    },
    message: { direction: 'request', kind: 'request', method: 'tools/call', server: 'everything', tool: 'echo', arguments: { message: 'bench' } },
    tool: { definition_hash: '0'.repeat(64), annotations: {}, flags: [] },
    context: { time_ns: Date.now() * 1_000_000, session: 'bench-session' },
  };
}

/** What response inspection asks about that call's result. */
function echoResultInput(): PolicyInput {
  const input = echoCallInput();
  input.message = {
    direction: 'response',
    kind: 'result',
    method: 'tools/call',
    server: 'everything',
    tool: 'echo',
    result: { content: [{ type: 'text', text: 'Echo: bench' }] },
  };
  return input;
}

/** The decisions the bench times, each one the gateway makes per echo call. */
export const DECISION_INPUTS = { request: echoCallInput, result: echoResultInput } as const;

export interface CompileFigures {
  runs: number;
  median_ms: number;
  first_ms: number;
}

export function measureCompile(runs: number): CompileFigures {
  const sources = defaultPolicySources();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    compileFolder(sources, [DECISION_ENTRYPOINT]);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { runs, median_ms: median(times), first_ms: times[0] ?? Number.NaN };
}

export interface DecisionFigures {
  evaluations: number;
  p50_us: number;
  p99_us: number;
  evaluations_per_s: number;
}

/** Median over `runs` of `count` sequential evaluations of `input` (no decision cache), after a warm-up; every decision must allow. */
export function measureDecisions(input: PolicyInput, count: number, runs: number): DecisionFigures {
  const sources = defaultPolicySources();
  // Every decision evaluated: the same input again would be served from the decision cache.
  const engine = new PolicyEngine(compileFolder(sources, [DECISION_ENTRYPOINT]), { revision: folderRevision(sources), data: sources.data, decisionCache: 0 });
  const decideOnce = (): number => {
    const t0 = process.hrtime.bigint();
    const decision = engine.decide(input);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e3;
    if (!decision.allow) throw new Error(`bench ${input.message.direction} denied by the default policy: ${decision.reasons.join('; ')}`);
    return elapsed;
  };
  for (let i = 0; i < Math.min(count, 2_000); i++) decideOnce();
  const perRun: DecisionFigures[] = [];
  for (let r = 0; r < runs; r++) {
    const samples: number[] = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) samples.push(decideOnce());
    const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
    samples.sort((a, b) => a - b);
    perRun.push({ evaluations: count, p50_us: percentile(samples, 50), p99_us: percentile(samples, 99), evaluations_per_s: count / elapsedS });
  }
  const pick = (f: (d: DecisionFigures) => number): number => median(perRun.map(f));
  return { evaluations: count, p50_us: pick((d) => d.p50_us), p99_us: pick((d) => d.p99_us), evaluations_per_s: pick((d) => d.evaluations_per_s) };
}
