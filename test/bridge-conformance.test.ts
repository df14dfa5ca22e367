/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance,
 * every server scenario, pending ones included), unchanged and with no client identity of its
 * own (no TLS options, no injected headers: the preload it runs with only
 * supplies fs.globSync on Node 20), against `portcullis connect --listen`:
 * suite → bridge (plain HTTP on loopback) → gateway (mTLS, the real compiled
 * default policy) → the project's conformance server, behind the gateway as
 * an HTTP upstream and as a stdio upstream. Every scenario that passes
 * directly against that server passes through the bridge, dns-rebinding
 * protection included (the forged Host reaches the bridge's own listener),
 * and reconnection (the server closes a call's event stream mid-call; the
 * client resumes with GET and Last-Event-ID).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runConformanceSuite, startConformanceUpstream } from '../test-support/mcp-conformance-suite.js';
import type { ScenarioScore } from '../test-support/mcp-conformance-suite.js';
import { policyGrantingAll, startListeningBridge, writeIdentity } from './fixtures/bridge-harness.js';
import { ROOT, startTestGateway } from './fixtures/gateway-harness.js';

const SUITE_TIMEOUT_MS = 180_000;
const UPSTREAM = 'conformance';
const CONFORMANCE_SERVER = path.join(ROOT, 'test-support/mcp-conformance-server.mjs');

/** How the suite itself scores a scenario: passed when no check failed and at least one succeeded. */
function passed(score: ScenarioScore): boolean {
  return score.failure === 0 && score.success > 0;
}

t.test('the conformance suite through portcullis connect --listen', async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bridge-conformance-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const upstream = await startConformanceUpstream('stateful');
  t.teardown(() => upstream.close());
  const direct = await runConformanceSuite({ url: upstream.url, outDir: path.join(work, 'direct'), timeoutMs: SUITE_TIMEOUT_MS });
  t.ok(direct.size >= 20, `the suite ran its server scenarios directly (${direct.size})`);
  t.ok(passed(direct.get('server-sse-polling') ?? { success: 0, failure: 1, warning: 0 }), 'reconnection passes directly');

  const kinds = {
    http: { http: { url: upstream.url } },
    stdio: { stdio: { command: process.execPath, args: [CONFORMANCE_SERVER, 'stdio'] } },
  };
  for (const [kind, upstreamConfig] of Object.entries(kinds)) {
    await t.test(`${kind} upstream`, async (t) => {
      const g = await startTestGateway(t, { upstreams: { [UPSTREAM]: upstreamConfig } }, policyGrantingAll('demo', UPSTREAM));
      const dir = mkdtempSync(path.join(work, `${kind}-`));
      const files = writeIdentity(g, dir, 'demo');
      const bridge = await startListeningBridge(t, [`${g.gateway.url}/mcp/${UPSTREAM}`, '--cert', files.cert, '--key', files.key, '--ca', files.ca]);
      t.match(bridge.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp\/conformance$/, 'the bridge serves the gateway path on loopback');

      const through = await runConformanceSuite({ url: bridge.url, outDir: path.join(dir, 'suite'), timeoutMs: SUITE_TIMEOUT_MS });
      t.same([...through.keys()].sort(), [...direct.keys()].sort(), 'the same scenarios ran through the bridge');
      for (const [scenario, want] of direct) {
        const got = through.get(scenario) ?? { success: 0, failure: 0, warning: 0 };
        t.ok(got.failure <= want.failure && (!passed(want) || passed(got)), `${scenario}: ${got.success} ok / ${got.failure} failed through the bridge, ${want.success} / ${want.failure} direct`);
      }
      t.ok(passed(through.get('dns-rebinding-protection') ?? { success: 0, failure: 1, warning: 0 }), "dns-rebinding-protection passes on the bridge's listener");
      t.ok(passed(through.get('server-sse-polling') ?? { success: 0, failure: 1, warning: 0 }), 'reconnection passes through the bridge');
      t.equal(bridge.stderr(), '', 'the bridge had nothing to report');
    });
  }
});
