import { once } from 'node:events';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { redactJson } from '../gateway/sanitize/index.js';
import { callDigest } from '../gateway/holds/digest.js';
import { HoldError } from '../gateway/holds/errors.js';
import { HoldStore, type HoldProposal } from '../gateway/holds/store.js';
import type { HoldEvent, Principal } from '../gateway/holds/types.js';
import { notifyWebhook, type WebhookResult } from '../gateway/holds/webhook.js';

const redact = (args: unknown): unknown => redactJson(args).value;

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-holds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const alice: Principal = { kind: 'admin', id: 'spiffe://portcullis.local/admin/alice', name: 'alice', roles: ['approver'] };
const agentWithRole: Principal = { kind: 'agent', id: 'spiffe://portcullis.local/agent/demo', name: 'demo', roles: ['approver'] };

function proposal(overrides: Partial<HoldProposal> = {}): HoldProposal {
  return {
    agent: { id: 'spiffe://portcullis.local/agent/demo', name: 'demo' },
    server: 'everything',
    method: 'tools/call',
    tool: 'write_file',
    arguments: { path: '/sandbox/a.txt', content: 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789' },
    reasons: ['write_file requires approval'],
    revision: 'rev-1',
    approvers: ['approver'],
    timeoutS: 60,
    ...overrides,
  };
}

t.test('approve: bound to the digest, single use, arguments stored redacted', async (t) => {
  const store = new HoldStore({ redact });
  t.teardown(() => store.close());
  const events: HoldEvent[] = [];
  store.onEvent((e) => events.push(e));
  const call = proposal();
  const { hold, outcome } = store.propose(call);
  t.equal(hold.state, 'pending');
  t.equal(hold.digest, callDigest(call));
  t.notMatch(JSON.stringify(hold.arguments), /ghp_/, 'the token is masked');
  t.match(JSON.stringify(hold.arguments), /REDACTED:github-token/);
  t.equal(store.pendingCount, 1);
  t.same(store.list({ pendingOnly: true }).map((h) => h.id), [hold.id]);

  t.throws(() => store.approve(hold.id, alice, { digest: callDigest({ ...call, arguments: { path: '/etc/passwd' } }) }), {
    name: 'HoldError',
    reason: 'digest-mismatch',
  });
  t.throws(() => store.approve(hold.id, alice, { digest: hold.digest, revision: 'rev-0' }), { name: 'HoldError', reason: 'revision-mismatch' });
  const approved = store.approve(hold.id, alice, { digest: hold.digest, revision: 'rev-1', reason: 'looks fine\u202e' });
  t.equal(approved.decided_by, alice.id);
  t.equal(approved.decision_reason, 'looks fine');
  const result = await outcome;
  t.equal(result.approved, true);
  t.throws(() => store.approve(hold.id, alice, { digest: hold.digest }), { name: 'HoldError', reason: 'not-pending' }, 'a replayed approval is refused');

  t.throws(() => store.claim(hold.id, { ...call, arguments: { path: '/other' } }, 'rev-1'), { name: 'HoldError', reason: 'digest-mismatch' });
  t.equal(store.claim(hold.id, call, 'rev-1').state, 'forwarded');
  t.throws(() => store.claim(hold.id, call, 'rev-1'), { name: 'HoldError', reason: 'not-approved' }, 'an approval forwards once');
  store.returned(hold.id, true);
  t.equal(store.get(hold.id)?.state, 'returned');
  t.same(events.map((e) => e.type), ['proposed', 'approved', 'forwarded', 'returned']);
  t.equal(store.pendingCount, 0);
});

t.test('who may decide: never an agent, never the caller, only named approvers', async (t) => {
  const store = new HoldStore({ redact });
  t.teardown(() => store.close());
  const { hold } = store.propose(proposal());
  t.throws(() => store.approve(hold.id, agentWithRole, { digest: hold.digest }), { name: 'HoldError', reason: 'agent-cannot-approve' });
  t.throws(() => store.deny(hold.id, agentWithRole), { name: 'HoldError', reason: 'agent-cannot-approve' });
  const self: Principal = { ...alice, id: hold.agent_id };
  t.throws(() => store.approve(hold.id, self, { digest: hold.digest }), { name: 'HoldError', reason: 'own-call' });
  const viewer: Principal = { ...alice, roles: ['viewer'] };
  t.throws(() => store.approve(hold.id, viewer, { digest: hold.digest }), { name: 'HoldError', reason: 'not-an-approver' });
  const { hold: dbaOnly } = store.propose(proposal({ approvers: ['dba'] }));
  t.throws(() => store.approve(dbaOnly.id, alice, { digest: dbaOnly.digest }), { name: 'HoldError', reason: 'not-an-approver' });
  const dba: Principal = { ...alice, roles: ['approver', 'dba'] };
  t.equal(store.approve(dbaOnly.id, dba, { digest: dbaOnly.digest }).state, 'approved');
  t.throws(() => store.approve('nope', alice, { digest: 'x' }), HoldError);
});

t.test('deny, timeout and cancel end the wait with the right outcome', async (t) => {
  const store = new HoldStore({ redact });
  t.teardown(() => store.close());
  const denied = store.propose(proposal());
  store.deny(denied.hold.id, alice, 'not today');
  const d = await denied.outcome;
  t.same([d.approved, !d.approved && d.state, d.hold.decision_reason], [false, 'denied', 'not today']);

  const expired = store.propose(proposal({ timeoutS: 1 }));
  const e = await expired.outcome;
  t.same([e.approved, !e.approved && e.state], [false, 'expired']);
  t.throws(() => store.approve(expired.hold.id, alice, { digest: expired.hold.digest }), { name: 'HoldError', reason: 'not-pending' });

  const cancelled = store.propose(proposal());
  store.cancel(cancelled.hold.id, 'client went away');
  const c = await cancelled.outcome;
  t.same([c.approved, !c.approved && c.state], [false, 'cancelled']);

  const approved = store.propose(proposal());
  store.approve(approved.hold.id, alice, { digest: approved.hold.digest });
  t.throws(() => store.claim(approved.hold.id, proposal(), 'rev-2'), { name: 'HoldError', reason: 'revision-mismatch' });
  t.equal(store.get(approved.hold.id)?.state, 'cancelled', 'a policy change voids the approval');
});

t.test('bounded: too many pending holds are refused; timeouts are capped', async (t) => {
  const store = new HoldStore({ redact, maxPending: 2, maxTimeoutS: 5, keepFinished: 1 });
  t.teardown(() => store.close());
  const a = store.propose(proposal({ timeoutS: 99_999 }));
  t.equal(Date.parse(a.hold.expires_at) - Date.parse(a.hold.created_at), 5000);
  store.propose(proposal());
  t.throws(() => store.propose(proposal()), { name: 'HoldError', reason: 'too-many-pending' });
  store.deny(a.hold.id, alice);
  store.propose(proposal());
  t.ok(store.list().length <= 3, 'finished holds beyond keepFinished are forgotten in memory');
});

t.test('the journal keeps outcomes across a restart; pending holds end as expired', async (t) => {
  const file = path.join(tempDir(t), 'holds.jsonl');
  const first = new HoldStore({ redact, file });
  const done = first.propose(proposal());
  first.approve(done.hold.id, alice, { digest: done.hold.digest });
  first.claim(done.hold.id, proposal(), 'rev-1');
  first.returned(done.hold.id, false);
  const waiting = first.propose(proposal());
  // Simulate a crash: no close(), plus a torn last line.
  appendFileSync(file, '{"type":"proposed","at":"2026');
  const text = readFileSync(file, 'utf8');
  t.notMatch(text, /ghp_/, 'no secret reaches the journal');

  const second = new HoldStore({ redact, file });
  t.teardown(() => second.close());
  const finished = second.get(done.hold.id);
  t.same([finished?.state, finished?.result_ok, finished?.decided_by], ['returned', false, alice.id]);
  const orphan = second.get(waiting.hold.id);
  t.same([orphan?.state, orphan?.decision_reason], ['expired', 'gateway restarted before a decision']);
  t.equal(second.pendingCount, 0);
  const replayed: string[] = [];
  second.onEvent((event) => replayed.push(`${event.type}:${event.hold.id}`));
  t.same(replayed, [`expired:${waiting.hold.id}`], 'a sink attached after the restart (the audit trail) still learns how the orphan ended');
  first.close();
});

t.test('webhook: Slack-compatible JSON posted for each new hold, without arguments', async (t) => {
  const bodies: { text: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(data) as { text: string });
      t.equal(req.headers['content-type'], 'application/json');
      res.writeHead(200).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;

  const store = new HoldStore({ redact });
  t.teardown(() => store.close());
  const results: WebhookResult[] = [];
  let delivered!: () => void;
  const deliveredOnce = new Promise<void>((resolve) => (delivered = resolve));
  store.onEvent(
    notifyWebhook({ url: `http://127.0.0.1:${port}/hook/SECRET`, timeout_ms: 2000 }, 'https://gw.example/admin/console', (_h, r) => {
      results.push(r);
      delivered();
    }),
  );
  const { hold } = store.propose(proposal());
  await deliveredOnce;
  t.same(results, [{ ok: true, status: 200 }]);
  t.equal(bodies.length, 1);
  const text = bodies[0]?.text ?? '';
  t.match(text, /approval needed for everything\/write_file/);
  t.match(text, hold.id);
  t.match(text, 'https://gw.example/admin/console');
  t.notMatch(text, /sandbox|ghp_/, 'arguments stay out of chat');

  // An unreachable webhook reports a code, never the URL (which may embed a secret), and the hold stays pending.
  const failing = new HoldStore({ redact });
  t.teardown(() => failing.close());
  const failures: WebhookResult[] = [];
  let failed!: () => void;
  const failedOnce = new Promise<void>((resolve) => (failed = resolve));
  server.close();
  failing.onEvent(
    notifyWebhook({ url: `http://127.0.0.1:${port}/hook/SECRET`, timeout_ms: 2000 }, undefined, (_h, r) => {
      failures.push(r);
      failed();
    }),
  );
  const pending = failing.propose(proposal());
  await failedOnce;
  t.equal(failures[0]?.ok, false);
  t.notMatch(JSON.stringify(failures), /SECRET/);
  t.equal(failing.get(pending.hold.id)?.state, 'pending');
});
