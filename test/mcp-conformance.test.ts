/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance,
 * every server scenario, pending ones included) scores at least as well through Portcullis
 * (mTLS, the real compiled default policy) as directly against the same
 * conformant upstream: per scenario, no more failed checks, and every
 * scenario that passes directly (the suite's own rule: no failure, at least
 * one success) passes through the gateway too. The upstream serves exactly what the scenarios call, so tools,
 * content types, logging, progress, sampling, elicitation, resources,
 * prompts, DNS-rebinding protection and reconnection (a stream the server
 * closes mid-call, resumed with Last-Event-ID) all cross the gateway; the
 * reconnection scenario needs sessions, so it passes both ways on stateful ones. Both ways the
 * gateway can serve agents are compared on an upstream of the same kind:
 * stateful sessions, and the stateless protocol.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { compileFolder } from '../gateway/policy/bundle/artifact.js';
import { DECISION_ENTRYPOINT } from '../gateway/policy/engine/decision.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import { folderRevision } from '../gateway/policy/bundle/revision.js';
import { readPolicySources } from '../gateway/policy/bundle/sources.js';
import { runConformanceSuite, startConformanceUpstream } from '../test-support/mcp-conformance-suite.js';
import type { ScenarioScore } from '../test-support/mcp-conformance-suite.js';
import { ROOT, startTestGateway } from './fixtures/gateway-harness.js';

const SUITE_TIMEOUT_MS = 120_000;
const UPSTREAM = 'conformance';
/** The suite's reconnection scenario (SEP-1699 SSE polling). */
const RECONNECTION = 'server-sse-polling';

interface CapabilityData {
  capabilities: { agents: Record<string, { grants: Record<string, unknown> }>; servers: Record<string, unknown> };
}

/** The default policy as shipped; its data knows the conformance upstream and grants the demo agent all of it. */
function defaultPolicyGrantingConformance(): PolicyEngine {
  const sources = readPolicySources(path.join(ROOT, 'policies'));
  const data = structuredClone(sources.data) as unknown as CapabilityData;
  const demo = data.capabilities.agents.demo;
  if (demo === undefined) throw new Error('the default policy no longer knows the demo agent');
  data.capabilities.servers[UPSTREAM] = { classification: ['test'] };
  demo.grants[UPSTREAM] = { tools: ['*'], prompts: ['*'], resources: ['*'] };
  return new PolicyEngine(compileFolder(sources, [DECISION_ENTRYPOINT]), { revision: folderRevision(sources), data, onFailure: () => undefined });
}

/** How the suite itself scores a scenario: passed when no check failed and at least one succeeded. */
function passed(score: ScenarioScore): boolean {
  return score.failure === 0 && score.success > 0;
}

function total(scores: Map<string, ScenarioScore>, key: keyof ScenarioScore): number {
  return [...scores.values()].reduce((sum, s) => sum + s[key], 0);
}

async function compareThroughPortcullis(t: Test, sessions: 'stateful' | 'stateless'): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-conformance-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const upstream = await startConformanceUpstream(sessions);
  t.teardown(() => upstream.close());

  const direct = await runConformanceSuite({ url: upstream.url, outDir: path.join(work, 'direct'), timeoutMs: SUITE_TIMEOUT_MS });
  t.ok(direct.size >= 20, `the suite ran its server scenarios directly (${direct.size})`);
  t.ok(total(direct, 'success') > 0, 'direct run has successful checks');

  const g = await startTestGateway(t, { listen: { sessions }, upstreams: { [UPSTREAM]: { http: { url: upstream.url } } } }, defaultPolicyGrantingConformance());
  const demo = g.issue('demo');
  const tls = { ca: path.join(work, 'ca.pem'), cert: path.join(work, 'demo.pem'), key: path.join(work, 'demo-key.pem') };
  writeFileSync(tls.ca, g.ca);
  writeFileSync(tls.cert, demo.cert);
  writeFileSync(tls.key, demo.key, { mode: 0o600 });
  const through = await runConformanceSuite({ url: `${g.gateway.url}/mcp/${UPSTREAM}`, outDir: path.join(work, 'portcullis'), tls, timeoutMs: SUITE_TIMEOUT_MS });

  t.same([...through.keys()].sort(), [...direct.keys()].sort(), 'the same scenarios ran through the gateway');
  for (const [scenario, want] of direct) {
    const got = through.get(scenario) ?? { success: 0, failure: 0, warning: 0 };
    t.ok(
      got.failure <= want.failure && (!passed(want) || passed(got)),
      `${scenario}: ${got.success} ok / ${got.failure} failed through Portcullis, ${want.success} / ${want.failure} direct`,
    );
  }
  if (sessions === 'stateful') {
    // server-sse-polling: the server closes a call's event stream mid-call; the client resumes with GET and Last-Event-ID.
    const reconnection = (scores: Map<string, ScenarioScore>): ScenarioScore => scores.get(RECONNECTION) ?? { success: 0, failure: 1, warning: 0 };
    t.ok(passed(reconnection(direct)), 'reconnection passes directly');
    t.ok(passed(reconnection(through)), 'reconnection passes through Portcullis');
  }
  t.comment(`direct: ${total(direct, 'success')} ok, ${total(direct, 'failure')} failed; through Portcullis: ${total(through, 'success')} ok, ${total(through, 'failure')} failed`);
}

t.test('conformance suite through Portcullis at least as well as direct: stateful sessions', (t) => compareThroughPortcullis(t, 'stateful'));
t.test('conformance suite through Portcullis at least as well as direct: stateless', (t) => compareThroughPortcullis(t, 'stateless'));
