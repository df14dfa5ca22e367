/**
 * What an undecided hold does when it times out, per rule (`hold.on_timeout`):
 * through the real gateway with a Rego policy compiled by Portcullis, the
 * opa-wasm loader, server-everything upstream and a stock SDK client.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import { ERRORS } from '../gateway/errors.js';
import type { HoldEventType } from '../gateway/holds/types.js';
import { parseDecision } from '../gateway/policy/engine/decision-shape.js';
import { startEnforcedGateway } from './fixtures/enforce-gateway.js';
import { connectClient } from './fixtures/gateway-harness.js';

const TIMEOUT_POLICY = `package portcullis

import rego.v1

decision := {"allow": true, "reasons": []} if {
	input.message.direction == "response"
} else := {"allow": true, "reasons": []} if {
	input.message.method != "tools/call"
} else := {"allow": true, "reasons": ["tiny images pass unless someone objects"], "hold": {"approvers": ["approver"], "timeout_s": 1, "on_timeout": "allow"}} if {
	input.message.tool == "get-tiny-image"
} else := {"allow": true, "reasons": ["sums need a person"], "hold": {"approvers": ["approver"], "timeout_s": 1}} if {
	input.message.tool == "get-sum"
} else := {"allow": true, "reasons": ["echo rule has a typo"], "hold": {"approvers": ["approver"], "timeout_s": 1, "on_timeout": "later"}} if {
	input.message.tool == "echo"
} else := {"allow": false, "reasons": ["not granted"]}
`;

t.test('decision shape: hold.on_timeout is "deny" or "allow", anything else is malformed', async (t) => {
  const hold = { approvers: ['approver'], timeout_s: 5 };
  t.same(parseDecision({ allow: true, hold }), { allow: true, reasons: [], hold }, 'absent: no outcome set, the pipeline denies');
  t.same(parseDecision({ allow: true, hold: { ...hold, on_timeout: null } }), { allow: true, reasons: [], hold }, 'null is absent');
  for (const onTimeout of ['deny', 'allow']) {
    t.same(parseDecision({ allow: true, hold: { ...hold, on_timeout: onTimeout } }), { allow: true, reasons: [], hold: { ...hold, on_timeout: onTimeout } });
  }
  for (const bad of ['later', 'ALLOW', '', true, 1, ['allow'], {}]) {
    t.equal(parseDecision({ allow: true, hold: { ...hold, on_timeout: bad } }), 'hold.on_timeout is not "deny" or "allow"', JSON.stringify(bad));
  }
});

t.test('an expired hold follows its rule through the real gateway', async (t) => {
  const g = await startEnforcedGateway(t);
  writeFileSync(path.join(g.policy.dir, 'decision.rego'), TIMEOUT_POLICY);
  const reload = await g.policy.decider.reload();
  t.equal(reload.result, 'success');
  const { holds } = g.gateway.enforcement;
  const agent = await connectClient(t, `${g.gateway.url}/mcp/everything`, { ca: g.ca, ...g.issue('demo') }, {});
  t.ok((await agent.listTools()).tools.some((tool) => tool.name === 'get-tiny-image'));

  await t.test('on_timeout "allow": the call is forwarded after the hold expires, and the trail says so', async (t) => {
    const events: HoldEventType[] = [];
    const proposed = g.nextHold();
    const off = holds.onEvent((event) => events.push(event.type));
    t.teardown(off);
    const result = await agent.callTool({ name: 'get-tiny-image', arguments: {} });
    const answeredAt = Date.now();
    const hold = await proposed;
    t.ok(answeredAt >= Date.parse(hold.expires_at), 'the answer comes only after the hold expired');
    const content = (result as { content?: Array<{ type: string }> }).content ?? [];
    t.ok(content.some((c) => c.type === 'image'), 'the agent gets the upstream result');
    t.same(events, ['proposed', 'expired', 'forwarded', 'returned']);
    const record = holds.get(hold.id);
    t.same([record?.state, record?.result_ok, record?.decided_by], ['returned', true, undefined], 'nobody approved it');
    t.equal(record?.decision_reason, 'no decision before the timeout; the rule forwards it');
    const journal = readFileSync(path.join(g.dir, 'holds.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes(hold.id))
      .map((line) => (JSON.parse(line) as { type: string }).type);
    t.same(journal, ['proposed', 'expired', 'forwarded', 'returned'], 'the journal records the expiry and the forward');
  });

  await t.test('without on_timeout the expired hold is denied', async (t) => {
    const proposed = g.nextHold();
    const expired = await agent.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }).catch((err: unknown) => err);
    t.ok(expired instanceof McpError);
    t.equal((expired as McpError).code, ERRORS.holdExpired.code);
    const hold = await proposed;
    t.equal(holds.get(hold.id)?.state, 'expired', 'never forwarded');
  });

  await t.test('an invalid on_timeout is a malformed decision: denied, nothing held', async (t) => {
    const before = holds.list().length;
    const denied = await agent.callTool({ name: 'echo', arguments: { message: 'hi' } }).catch((err: unknown) => err);
    t.ok(denied instanceof McpError);
    t.equal((denied as McpError).code, ERRORS.policyDenied.code);
    t.match((denied as McpError).message, 'policy evaluation failed');
    t.equal(holds.list().length, before, 'no hold was proposed');
  });
});
