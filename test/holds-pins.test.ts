/**
 * A held call meets the tool pins again before it goes out. The upstream may
 * change the tool while a person decides (a rug pull during the hold: the
 * definition changes and notifications/tools/list_changed follows); the
 * approval was given for the call to the reviewed definition, so the call is
 * refused as quarantined and never handed to the upstream. Through a real
 * gateway (mTLS, the rug-pulling SDK server, a Rego policy compiled by
 * Portcullis) with stock SDK clients and the admin API, in both hold modes.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import type { Test } from 'tap';
import { ERRORS } from '../gateway/errors.js';
import type { HoldRecord } from '../gateway/holds/types.js';
import { startEnforcedGateway, type EnforcedGateway } from './fixtures/enforce-gateway.js';
import { connectClient, tlsFetch } from './fixtures/gateway-harness.js';

/** Every call of `add` waits for a person; everything else is allowed. */
const HOLD_ADD = `package portcullis

import rego.v1

decision := {"allow": true, "reasons": ["add needs a person"], "hold": {"approvers": ["approver"], "timeout_s": 120}} if {
	input.message.direction == "request"
	input.message.method == "tools/call"
	input.message.tool == "add"
} else := {"allow": true, "reasons": []}
`;

const ADD = { name: 'add', arguments: { a: 1, b: 2 } };

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

/** The McpError a call was refused with (fails the test if it succeeded). */
async function refusal(call: Promise<unknown>): Promise<McpError> {
  const err = await call.then(
    (result) => new Error(`the call succeeded: ${text(result)}`),
    (e: unknown) => e,
  );
  if (!(err instanceof McpError)) throw err;
  return err;
}

interface Setup {
  g: EnforcedGateway;
  /** Calls of `add` handed to the rugpull upstream (any connection), in order. */
  reached: unknown[];
  /** The admin API as the approver alice. */
  admin(where: string, body: unknown): Promise<number>;
  /** Resolves when the pins quarantine a changed `add`. */
  nextQuarantine(): Promise<void>;
}

async function setUp(t: Test, holds: Record<string, unknown>, isolation: 'shared' | 'per_agent'): Promise<Setup> {
  const g = await startEnforcedGateway(t, holds, isolation);
  writeFileSync(path.join(g.policy.dir, 'decision.rego'), HOLD_ADD);
  t.equal((await g.policy.decider.reload()).result, 'success', 'the test policy holds add');
  const upstream = g.gateway.upstreams.get('rugpull');
  if (upstream === undefined) throw new Error('no rugpull upstream');
  // Every message to the upstream, on any of its connections, leaves through request(): watch it there.
  const reached: unknown[] = [];
  const request = upstream.request.bind(upstream);
  upstream.request = (method, params, options) => {
    if (method === 'tools/call' && params?.name === 'add') reached.push(params.arguments);
    return request(method, params, options);
  };
  const adminFetch = tlsFetch(t, { ca: g.ca, cert: g.alice.certPem, key: g.alice.keyPem });
  const admin = async (where: string, body: unknown): Promise<number> => {
    const res = await adminFetch(`${g.gateway.url}${where}`, {
      method: 'POST',
      headers: { 'x-portcullis-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const nextQuarantine = (): Promise<void> =>
    new Promise((resolve) => {
      const off = g.gateway.enforcement.pins.onEvent((event) => {
        if (event.type !== 'quarantined' || event.tool !== 'add') return;
        off();
        resolve();
      });
    });
  return { g, reached, admin, nextQuarantine };
}

function approveHold(s: Setup, hold: HoldRecord): Promise<number> {
  return s.admin(`/admin/holds/${hold.id}/approve`, { digest: hold.digest });
}

for (const isolation of ['shared', 'per_agent'] as const) {
  t.test(`wait mode: a tool changed during the hold is not called when the hold is approved (isolation: ${isolation})`, async (t) => {
    const s = await setUp(t, {}, isolation);
    const { g, reached } = s;
    const demo = await connectClient(t, `${g.gateway.url}/mcp/rugpull`, { ca: g.ca, ...g.issue('demo') });
    t.ok((await demo.listTools()).tools.some((tool) => tool.name === 'add'));

    // Control: an approved call of the reviewed tool goes through.
    let proposed = g.nextHold();
    const control = demo.callTool(ADD);
    t.equal(await approveHold(s, await proposed), 200);
    t.equal(text(await control), '3', 'approved and answered');
    t.equal(reached.length, 1);

    // The rug pull while a person decides.
    proposed = g.nextHold();
    const call = refusal(demo.callTool(ADD));
    const hold = await proposed;
    const quarantined = s.nextQuarantine();
    t.equal(text(await demo.callTool({ name: 'rugpull', arguments: {} })), 'changed');
    await quarantined;
    t.equal(await approveHold(s, hold), 200, 'the person approves the call they reviewed');
    const refused = await call;
    t.equal(refused.code, ERRORS.toolQuarantined.code, 'refused: the tool is not the one the call was decided and approved on');
    t.equal(reached.length, 1, 'the call never reached the upstream');
    t.equal(g.gateway.enforcement.holds.get(hold.id)?.state, 'approved', 'the approval was not consumed: nothing was forwarded');

    if (isolation !== 'per_agent') return;
    // Another agent's own child still lists the definition it was decided on; the operator approves the
    // changed one while its call waits: the call no longer matches what is pinned and is refused too.
    const ops = await connectClient(t, `${g.gateway.url}/mcp/rugpull`, { ca: g.ca, ...g.issue('ops') });
    proposed = g.nextHold();
    const opsCall = refusal(ops.callTool(ADD));
    const opsHold = await proposed;
    const pending = g.gateway.enforcement.pins.quarantined().find((item) => item.tool === 'add');
    t.equal(await s.admin('/admin/pins/approve', { server: 'rugpull', tool: 'add', hash: pending?.pending_hash }), 200, 'the changed definition is approved');
    t.equal(await approveHold(s, opsHold), 200);
    t.equal((await opsCall).code, ERRORS.toolQuarantined.code, 'decided on a definition that is no longer the pinned one');
    t.equal(reached.length, 1, 'still nothing reached the upstream');
  });
}

t.test('retry mode: an approval does not carry over to a tool changed since', async (t) => {
  const s = await setUp(t, { mode: 'retry' }, 'shared');
  const { g, reached } = s;
  const { holds } = g.gateway.enforcement;
  const demo = await connectClient(t, `${g.gateway.url}/mcp/rugpull`, { ca: g.ca, ...g.issue('demo') });

  const first = await refusal(demo.callTool(ADD));
  t.equal(first.code, ERRORS.holdPending.code, 'held: retry after approval');
  const hold = holds.get((first.data as { hold_id: string }).hold_id);
  if (hold === undefined) throw new Error('no hold');
  const quarantined = s.nextQuarantine();
  t.equal(text(await demo.callTool({ name: 'rugpull', arguments: {} })), 'changed');
  await quarantined;
  t.equal(await approveHold(s, hold), 200);

  // The identical retry goes through the pins again, before the hold stage: refused, the approval untouched.
  const retried = await refusal(demo.callTool(ADD));
  t.equal(retried.code, ERRORS.toolQuarantined.code, 'the retried call meets the quarantine');
  t.same(reached, [], 'nothing reached the upstream');
  t.equal(holds.get(hold.id)?.state, 'approved', 'the approval was not consumed');
});
