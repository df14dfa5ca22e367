/**
 * Holds and client timeouts. Retry mode (holds.mode: retry): the agent is
 * answered at once with the hold id, the hold waits in the console, and the
 * approval lets exactly one identical call of the same agent through. Wait
 * mode: what a stock SDK client with a request timeout sees, with and
 * without progress. Through a real gateway (mTLS, server-everything, a Rego
 * policy compiled by Portcullis) with stock SDK clients, plus the store's
 * rules on their own (approval lifetime, policy changes, restarts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import { ERRORS } from '../gateway/errors.js';
import { HoldStore, type HoldProposal } from '../gateway/holds/store.js';
import type { HoldEvent, HoldRecord, Principal } from '../gateway/holds/types.js';
import { redactJson } from '../gateway/sanitize/index.js';
import { startEnforcedGateway } from './fixtures/enforce-gateway.js';
import { connectClient, tlsFetch } from './fixtures/gateway-harness.js';

const alice: Principal = { kind: 'admin', id: 'spiffe://portcullis.test/admin/alice', name: 'alice', roles: ['approver'] };
const SUM = { name: 'get-sum', arguments: { a: 19, b: 23 } };

/** The McpError a call was refused with (fails the test if it succeeded). */
async function refusal(call: Promise<unknown>): Promise<McpError> {
  const err = await call.then(
    () => new Error('the call succeeded'),
    (e: unknown) => e,
  );
  if (!(err instanceof McpError)) throw err;
  return err;
}

function heldId(err: McpError): string {
  return (err.data as { hold_id: string }).hold_id;
}

function text(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

/** Polls until `check` holds (bounded), for outcomes that have no event to wait on. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

t.test('retry mode through the real gateway, with stock SDK clients and the admin API', async (t) => {
  const g = await startEnforcedGateway(t, { mode: 'retry' });
  const { holds } = g.gateway.enforcement;
  const url = `${g.gateway.url}/mcp/everything`;
  const demo = await connectClient(t, url, { ca: g.ca, ...g.issue('demo') });
  const other = await connectClient(t, url, { ca: g.ca, ...g.issue('other') });
  const adminFetch = tlsFetch(t, { ca: g.ca, cert: g.alice.certPem, key: g.alice.keyPem });
  const admin = async (method: string, where: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const headers: Record<string, string> = { 'x-portcullis-csrf': '1' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await adminFetch(`${g.gateway.url}${where}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, json: await res.json() }; // parsed JSON of the admin API
  };
  const pendingOf = (agent: string, tool: string): HoldRecord[] =>
    holds.list({ pendingOnly: true }).filter((h) => h.agent_name === agent && h.tool === tool);

  // 1. The first call is answered at once (the rule's hold lasts 120 s; the SDK's timeout is 60 s).
  const first = await refusal(demo.callTool(SUM));
  t.equal(first.code, ERRORS.holdPending.code, 'held: retry after approval');
  const holdId = heldId(first);
  t.match(first.message, holdId, 'the message names the hold id');
  t.match(first.message, /retry this identical call/, 'and says how to go on');
  t.equal(holds.get(holdId)?.state, 'pending', 'the hold waits although the agent has its answer');

  // 2. The console's API lists it, marked as a retry-mode hold.
  const listed = await admin('GET', '/admin/holds?pending=true');
  t.equal(listed.status, 200);
  t.match(
    (listed.json.holds as HoldRecord[]).find((h) => h.id === holdId),
    { state: 'pending', mode: 'retry', tool: 'get-sum', agent_name: 'demo' },
  );

  // 3. A retry before the decision gets the same hold: no new hold per retry.
  const again = await refusal(demo.callTool(SUM));
  t.same([again.code, heldId(again)], [ERRORS.holdPending.code, holdId]);
  t.equal(pendingOf('demo', 'get-sum').length, 1, 'one hold in the console');

  // 4. Different arguments are a different call: a new hold.
  const otherArgs = await refusal(demo.callTool({ name: 'get-sum', arguments: { a: 19, b: 24 } }));
  t.not(heldId(otherArgs), holdId);

  // 5. Alice approves through the admin API.
  const hold = holds.get(holdId);
  const approved = await admin('POST', `/admin/holds/${holdId}/approve`, { digest: hold?.digest, revision: hold?.revision });
  t.equal(approved.status, 200);
  t.equal(approved.json.hold.state, 'approved');
  t.ok(Date.parse(approved.json.hold.retry_until) > Date.now(), 'the approval waits for the retry until retry_until');

  // 6. Another agent with the same arguments is not let through: it gets a hold of its own.
  const byOther = await refusal(other.callTool(SUM));
  t.equal(byOther.code, ERRORS.holdPending.code);
  t.not(heldId(byOther), holdId);
  t.equal(holds.get(holdId)?.state, 'approved', 'the approval is untouched');

  // 7. The identical retry goes through, once.
  t.match(text(await demo.callTool(SUM)), /42/, 'the approved retry reaches the upstream');
  t.equal(holds.get(holdId)?.state, 'returned');
  const second = await refusal(demo.callTool(SUM));
  t.equal(second.code, ERRORS.holdPending.code, 'a second identical retry is held again');
  t.not(heldId(second), holdId, 'under a new hold');

  // 8. Denied: the retry gets the denial, every time, without a new hold.
  const denied = await admin('POST', `/admin/holds/${heldId(second)}/deny`, { reason: 'not twice' });
  t.equal(denied.status, 200);
  for (let i = 0; i < 2; i++) {
    const refused = await refusal(demo.callTool(SUM));
    t.equal(refused.code, ERRORS.holdDenied.code);
    t.match(refused.message, /not twice/, "the approver's reason");
  }
  const digest = holds.get(heldId(second))?.digest;
  t.notOk(pendingOf('demo', 'get-sum').some((h) => h.digest === digest), 'no hold was added by the retries after the denial');

  const journal = readFileSync(path.join(g.dir, 'holds.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.includes(holdId))
    .map((line) => (JSON.parse(line) as { type: string }).type);
  t.same(journal, ['proposed', 'approved', 'forwarded', 'returned'], 'hold events on record: proposed, approved, consumed, answered');
});

t.test('wait mode and a stock client with a request timeout', async (t) => {
  const g = await startEnforcedGateway(t);
  const { holds } = g.gateway.enforcement;
  const demo = await connectClient(t, `${g.gateway.url}/mcp/everything`, { ca: g.ca, ...g.issue('demo') });
  // The upstream's first call is slow (seconds); warm it so the approved call answers within the client's timeout.
  t.match(text(await demo.callTool({ name: 'echo', arguments: { message: 'warm' } })), /warm/);

  await t.test('without progress the client gives up at its timeout, and the hold ends as cancelled', async (t) => {
    const proposed = g.nextHold();
    const gaveUp = await refusal(demo.callTool(SUM, undefined, { timeout: 1000 }));
    t.equal(gaveUp.code, ErrorCode.RequestTimeout, "what the SDK's own timeout (60 s by default) looks like");
    const hold = await proposed;
    await eventually(() => holds.get(hold.id)?.state === 'cancelled', 'the hold is cancelled');
    t.notOk(holds.list({ pendingOnly: true }).some((h) => h.id === hold.id), 'gone from the console');
  });

  await t.test('with progress and resetTimeoutOnProgress the client waits past its timeout for the decision', async (t) => {
    const proposed = g.nextHold();
    let ticks = 0;
    const call = demo.callTool(SUM, undefined, { timeout: 2500, resetTimeoutOnProgress: true, onprogress: () => (ticks += 1) });
    const hold = await proposed;
    await eventually(() => ticks >= 4, 'four progress notifications (past the 2.5 s timeout) arrived');
    t.equal(holds.get(hold.id)?.state, 'pending');
    holds.approve(hold.id, alice, { digest: hold.digest });
    t.match(text(await call), /42/, 'the result arrives after the approval');
  });
});

const redact = (args: unknown): unknown => redactJson(args).value;

function proposal(overrides: Partial<HoldProposal> = {}): HoldProposal {
  return {
    agent: { id: 'spiffe://portcullis.test/agent/demo', name: 'demo' },
    server: 'everything',
    method: 'tools/call',
    tool: 'get-sum',
    arguments: { a: 1, b: 2 },
    reasons: ['sums need a person'],
    revision: 'rev-1',
    approvers: ['approver'],
    timeoutS: 60,
    ...overrides,
  };
}

function nextEvent(store: HoldStore, type: HoldEvent['type']): Promise<HoldEvent> {
  return new Promise((resolve) => {
    const off = store.onEvent((event) => {
      if (event.type !== type) return;
      off();
      resolve(event);
    });
  });
}

t.test('store: an approval not used within approval_ttl_s lapses; the retry is then held anew', async (t) => {
  const store = new HoldStore({ redact, mode: 'retry', approvalTtlS: 1 });
  t.teardown(() => store.close());
  const held = store.retry(proposal());
  t.equal(held.kind, 'held');
  const lapsed = nextEvent(store, 'expired');
  store.approve(held.hold.id, alice, { digest: held.hold.digest });
  const event = await lapsed;
  t.same([event.hold.id, event.hold.state, event.hold.decided_by], [held.hold.id, 'expired', alice.id], 'the lapse is an expired event; the decision stays on record');
  const anew = store.retry(proposal());
  t.equal(anew.kind, 'held');
  t.not(anew.hold.id, held.hold.id, 'a new hold');
});

t.test('store: a denial answers retries until approval_ttl_s, then the call is held anew', async (t) => {
  const store = new HoldStore({ redact, mode: 'retry', approvalTtlS: 1 });
  t.teardown(() => store.close());
  const held = store.retry(proposal());
  store.deny(held.hold.id, alice, 'no');
  t.equal(store.retry(proposal()).kind, 'denied');
  const until = Date.parse(store.get(held.hold.id)?.retry_until ?? '');
  await eventually(() => Date.now() > until, 'the denial window passed');
  const anew = store.retry(proposal());
  t.same([anew.kind, anew.hold.id === held.hold.id], ['held', false]);
});

t.test('store: a policy change re-proposes a waiting hold and voids an unused approval', async (t) => {
  const store = new HoldStore({ redact, mode: 'retry' });
  t.teardown(() => store.close());
  const old = store.retry(proposal());
  const renewed = store.retry(proposal({ revision: 'rev-2' }));
  t.not(renewed.hold.id, old.hold.id);
  t.same([store.get(old.hold.id)?.state, store.get(old.hold.id)?.decision_reason], ['cancelled', 'the policy changed while the call was held']);
  store.approve(renewed.hold.id, alice, { digest: renewed.hold.digest });
  t.throws(() => store.retry(proposal({ revision: 'rev-3' })), { name: 'HoldError', reason: 'revision-mismatch' });
  t.equal(store.get(renewed.hold.id)?.state, 'cancelled');
});

t.test('store: on_timeout allow lets the first retry after the expiry through, once', async (t) => {
  const store = new HoldStore({ redact, mode: 'retry' });
  t.teardown(() => store.close());
  const held = store.retry(proposal({ timeoutS: 1, onTimeout: 'allow' }));
  await nextEvent(store, 'expired');
  const through = store.retry(proposal({ timeoutS: 1, onTimeout: 'allow' }));
  t.same([through.kind, through.hold.id, through.hold.state], ['approved', held.hold.id, 'forwarded']);
  t.equal(store.retry(proposal({ timeoutS: 1, onTimeout: 'allow' })).kind, 'held', 'then held anew');
});

t.test('store: retries are bounded by max_pending, and repeat retries take no room', async (t) => {
  const store = new HoldStore({ redact, mode: 'retry', maxPending: 2 });
  t.teardown(() => store.close());
  for (let i = 0; i < 5; i++) store.retry(proposal());
  store.retry(proposal({ arguments: { a: 2, b: 2 } }));
  t.equal(store.pendingCount, 2);
  t.throws(() => store.retry(proposal({ arguments: { a: 3, b: 2 } })), { name: 'HoldError', reason: 'too-many-pending' });
});

t.test('store: retry-mode holds survive a restart (the journal)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-holds-retry-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'holds.jsonl');
  const first = new HoldStore({ redact, mode: 'retry', file });
  const held = first.retry(proposal());
  first.close();

  const second = new HoldStore({ redact, mode: 'retry', file });
  t.same([second.get(held.hold.id)?.state, second.pendingCount], ['pending', 1], 'still waiting after the restart');
  const same = second.retry(proposal());
  t.same([same.kind, same.hold.id], ['held', held.hold.id], 'the retry meets the same hold');
  second.approve(held.hold.id, alice, { digest: held.hold.digest });
  second.close();

  const third = new HoldStore({ redact, mode: 'retry', file });
  t.teardown(() => third.close());
  const through = third.retry(proposal());
  t.same([through.kind, through.hold.id], ['approved', held.hold.id], 'the approval survives a restart too');
});
