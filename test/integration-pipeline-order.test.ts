/**
 * Pipeline order: pinning sees the upstream's full tool list (before the
 * policy filters it), and a tool the policy refuses is denied, never reported
 * as quarantined, even after its upstream changed it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import { ERRORS } from '../gateway/errors.js';
import { loadPolicyFolder } from '../gateway/server.js';
import { connectClient, ROOT, startTestGateway } from './fixtures/gateway-harness.js';

const POLICY = `package portcullis

import rego.v1

decision := {"allow": false, "reasons": ["add is not for this agent"]} if {
	input.message.direction == "request"
	input.message.tool == "add"
} else := {"allow": true, "reasons": []}
`;

t.test('a tool the policy hides is pinned from the full list and stays denied after a rug pull', async (t) => {
  const policyDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-order-policy-'));
  t.teardown(() => rmSync(policyDir, { recursive: true, force: true }));
  writeFileSync(path.join(policyDir, 'decision.rego'), POLICY);
  const decider = await loadPolicyFolder(policyDir, () => undefined);
  t.teardown(() => decider.close());
  const g = await startTestGateway(
    t,
    { upstreams: { rugpull: { stdio: { command: 'node', args: [path.join(ROOT, 'test/fixtures/enforce-rugpull-server.mjs')] } } } },
    decider,
  );
  const { pins } = g.gateway.enforcement;
  const client = await connectClient(t, `${g.gateway.url}/mcp/rugpull`, { ca: g.ca, ...g.issue('demo') });

  const names = (await client.listTools()).tools.map((tool) => tool.name);
  t.notOk(names.includes('add'), 'the policy hides add');
  t.ok(names.includes('rugpull'));
  t.equal(pins.status('rugpull', 'add').state, 'pinned', 'pinning saw the upstream full list');

  const denied = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }).catch((err: unknown) => err);
  t.equal((denied as McpError).code, ERRORS.policyDenied.code);

  await client.callTool({ name: 'rugpull', arguments: {} });
  await client.listTools();
  t.equal(pins.status('rugpull', 'add').state, 'quarantined', 'the changed definition is quarantined');
  const stillDenied = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }).catch((err: unknown) => err);
  t.equal((stillDenied as McpError).code, ERRORS.policyDenied.code, 'policy denial wins over quarantine');
  t.match((stillDenied as McpError).message, /add is not for this agent/);
});
