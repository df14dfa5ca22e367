/**
 * Decision latency of the default policy (policies/) through the unmodified
 * npm loader, per kind of message the gateway asks about: p50/p99 of
 * `PolicyEngine.decide` on inputs shaped as gateway/pipeline/policy-input.ts
 * builds them. CLI: `node dist/bench/policy-latency.js [decisions-per-kind]`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFolder } from '../gateway/policy/bundle/artifact.js';
import { DECISION_ENTRYPOINT } from '../gateway/policy/engine/decision.js';
import type { MessageInput, PolicyInput } from '../gateway/policy/engine/decision.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import { folderRevision } from '../gateway/policy/bundle/revision.js';
import { readPolicySources } from '../gateway/policy/bundle/sources.js';
import { PACKAGE_ROOT } from '../gateway/server.js';
import { percentile } from './load.js';

export interface KindLatency {
  kind: string;
  decisions: number;
  p50_us: number;
  p99_us: number;
  /** The decision's allow, so a policy change that flips a kind shows up. */
  allow: boolean;
}

function input(message: MessageInput, flags: string[] = []): PolicyInput {
  return {
    agent: {
      id: 'spiffe://portcullis.local/agent/demo',
      name: 'demo',
      auth: 'mtls',
      roles: [],
      cert: { subject: 'CN=demo', serial: '0a1b2c3d', fingerprint: `sha256:${'0'.repeat(64)}` },
    },
    message,
    tool: { definition_hash: '0'.repeat(64), annotations: {}, flags },
    context: { time_ns: 1_700_000_000_000_000_000, session: 'bench-session' },
  };
}

/** One input per kind of message, as the gateway builds them for the demo agent. */
export const LATENCY_INPUTS: Readonly<Record<string, PolicyInput>> = {
  'initialize': input({ direction: 'request', kind: 'request', method: 'initialize', server: '*' }),
  'tools/list filter': input({ direction: 'request', kind: 'request', method: 'tools/list', server: 'everything', tool: 'echo', listing: true }),
  'tools/call': input({ direction: 'request', kind: 'request', method: 'tools/call', server: 'everything', tool: 'echo', arguments: { message: 'bench' } }),
  'tools/call path': input({
    direction: 'request', kind: 'request', method: 'tools/call', server: 'filesystem', tool: 'read_text_file',
    arguments: { path: '/tmp/portcullis-sandbox/notes/todo.txt' },
  }),
  'tools/call url': input({
    direction: 'request', kind: 'request', method: 'tools/call', server: 'everything', tool: 'gzip-file-as-resource',
    arguments: { name: 'readme.gz', data: 'https://raw.githubusercontent.com/modelcontextprotocol/servers/main/README.md', outputType: 'resource' },
  }),
  'response': input({
    direction: 'response', kind: 'result', method: 'tools/call', server: 'everything', tool: 'echo',
    result: { content: [{ type: 'text', text: 'Echo: bench' }] },
  }),
};

/** p50/p99 of `decisions` sequential decisions per kind, after a warm-up of each. */
export async function measurePolicyLatency(decisions = 5_000): Promise<KindLatency[]> {
  const sources = readPolicySources(path.join(PACKAGE_ROOT, 'policies'));
  const engine = new PolicyEngine(compileFolder(sources, [DECISION_ENTRYPOINT]), { revision: folderRevision(sources), data: sources.data });
  const figures: KindLatency[] = [];
  for (const [kind, message] of Object.entries(LATENCY_INPUTS)) {
    const allow = engine.decide(message).allow;
    for (let i = 0; i < Math.min(decisions, 1_000); i++) engine.decide(message);
    const samples: number[] = [];
    for (let i = 0; i < decisions; i++) {
      const t0 = process.hrtime.bigint();
      engine.decide(message);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    samples.sort((a, b) => a - b);
    figures.push({ kind, decisions, p50_us: percentile(samples, 50), p99_us: percentile(samples, 99), allow });
  }
  return figures;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const decisions = Number(process.argv[2] ?? 5_000);
  if (!Number.isInteger(decisions) || decisions < 1) throw new Error('usage: policy-latency [decisions-per-kind]');
  for (const f of await measurePolicyLatency(decisions)) {
    console.log(`${f.kind.padEnd(20)} allow=${String(f.allow).padEnd(5)} p50 ${f.p50_us.toFixed(1).padStart(7)} µs  p99 ${f.p99_us.toFixed(1).padStart(7)} µs`);
  }
}
