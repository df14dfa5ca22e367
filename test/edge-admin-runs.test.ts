/**
 * The admin API for orchestrator runs on a real gateway that hosts the
 * orchestrator: who may use it (admins; starting and cancelling need the
 * operator role), its refusals (registered kinds, with the reason in
 * `details`), and a run started, watched and cancelled through it, the
 * cancellation reaching the upstream as notifications/cancelled.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ERRORS } from '../gateway/errors.js';
import { createAdminCert } from '../gateway/pki/certs.js';
import { startHostingGateway, waitingScript } from './fixtures/agents-host.js';
import { startTestGateway, tlsFetch, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 25));

t.test('who may use the runs API, and its refusals', async (t) => {
  const h = await startHostingGateway(t, waitingScript(1), { providers: { fake: { kind: 'anthropic', api_key_env: 'PORTCULLIS_TEST_NO_SUCH_KEY' } } });
  const url = h.g.gateway.url;
  const stranger = tlsFetch(t, { ca: h.g.ca });
  const anonymous = await stranger(`${url}/admin/runs`, { headers: { 'x-portcullis-csrf': '1' } });
  t.equal(anonymous.status, 401, 'no admin identity: 401');
  const ca = { certPem: h.g.ca, keyPem: readFileSync(h.g.pki.caKey, 'utf8') };
  const bob = createAdminCert(ca, TRUST_DOMAIN, 'bob');
  const bobFetch = tlsFetch(t, { ca: h.g.ca, cert: bob.certPem, key: bob.keyPem });
  const asBob = await bobFetch(`${url}/admin/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portcullis-csrf': '1' },
    body: JSON.stringify({ agent: 'lead', task: 'x' }),
  });
  t.equal(asBob.status, 403, 'an approver without the operator role cannot start a run');
  t.match(await asBob.json(), { error: { code: 'not-an-operator' } });
  t.equal((await bobFetch(`${url}/admin/runs`, { headers: { 'x-portcullis-csrf': '1' } })).status, 200, 'but may list runs');
  const noCsrf = await h.admin(`${url}/admin/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"agent":"lead","task":"x"}' });
  t.equal(noCsrf.status, 403, 'the CSRF header is required');

  const unknown = await h.api('POST', '/admin/runs', { agent: 'nobody', task: 'x' });
  t.match(unknown, { status: ERRORS.runAgentRefused.http, body: { error: { code: 'runAgentRefused', details: /no agent "nobody" is defined \(agents that lead runs: lead\)/ } } });
  const worker = await h.api('POST', '/admin/runs', { agent: 'waiter', task: 'x' });
  t.match(worker, { status: 400, body: { error: { code: 'runAgentRefused', details: /does not lead runs/ } } });
  const noKey = await h.api('POST', '/admin/runs', { agent: 'lead', task: 'x' });
  t.match(noKey, { status: ERRORS.runNoProvider.http, body: { error: { code: 'runNoProvider', details: /set PORTCULLIS_TEST_NO_SUCH_KEY for provider "fake".*\(agents: lead, waiter\)/ } } }, 'names the variable to set');
  t.match(await h.api('POST', '/admin/runs', { agent: 'lead', task: 'x', extra: 1 }), { status: 400, body: { error: { code: 'invalid-request', message: 'body has an unknown key "extra"' } } });
  t.match(await h.api('GET', '/admin/runs/20250102T030405Z-abcdef'), { status: 404, body: { error: { code: 'runNotFound' } } });
  t.match(await h.api('POST', '/admin/runs/20250102T030405Z-abcdef/cancel'), { status: 404, body: { error: { code: 'runNotFound' } } });
  t.same((await h.api('GET', '/admin/runs')).body, { orchestrator: true, runs: [] }, 'nothing was started');
  t.equal(h.provider.requests.length, 0, 'no model was asked');
});

t.test('without an orchestrator section the API says so and the console view is still served', async (t) => {
  const g = await startTestGateway(t, { holds: { approvers: { alice: { roles: ['operator'] } } } });
  const alice = createAdminCert({ certPem: g.ca, keyPem: readFileSync(g.pki.caKey, 'utf8') }, TRUST_DOMAIN, 'alice');
  const admin = tlsFetch(t, { ca: g.ca, cert: alice.certPem, key: alice.keyPem });
  const headers = { 'content-type': 'application/json', 'x-portcullis-csrf': '1' };
  t.same(await (await admin(`${g.gateway.url}/admin/runs`, { headers })).json(), { orchestrator: false, runs: [] });
  const start = await admin(`${g.gateway.url}/admin/runs`, { method: 'POST', headers, body: JSON.stringify({ agent: 'orchestrator', task: 'x' }) });
  t.equal(start.status, 404);
  t.match(await start.json(), { error: { code: 'orchestratorOff', message: ERRORS.orchestratorOff.message } });
  const script = await admin(`${g.gateway.url}/admin/console/runs.js`);
  t.equal(script.status, 200);
  t.match(script.headers.get('content-security-policy'), /script-src 'self'/);
});

t.test('a run started, watched and cancelled through the API; the upstream is told', async (t) => {
  const h = await startHostingGateway(t, waitingScript(60_000));
  const before = await h.probeCount('cancelled');
  const started = await h.api('POST', '/admin/runs', { agent: 'lead', task: 'wait for a minute' });
  t.equal(started.status, 202);
  const id: string = started.body.run.id;
  t.match(started.body.run, { id: /^\d{8}T\d{6}Z-[0-9a-f]{6}$/, agent: 'lead', task: 'wait for a minute', status: 'running' });

  let view;
  for (let i = 0; i < 1200 && view?.tasks[0]?.activity !== 'calling probe__wait'; i++) {
    await settle();
    view = (await h.api('GET', `/admin/runs/${id}`)).body.run;
  }
  // The probe counts are asked as the waiter, whose rate class allows about one call a second: asked gently.
  for (let i = 0; i < 30 && (await h.probeCount('active')) < 1; i++) await new Promise((resolve) => setTimeout(resolve, 1000));
  t.match(view, { status: 'running', phase: 'working', tasks: [{ id: 'wait', agent: 'waiter', status: 'running', activity: 'calling probe__wait', depends_on: [] }] }, 'the live view shows the task and its tool');
  t.match((await h.api('GET', '/admin/runs')).body.runs, [{ id, status: 'running' }], 'listed while it runs');

  const cancelled = await h.api('POST', `/admin/runs/${id}/cancel`);
  t.equal(cancelled.status, 200);
  for (let i = 0; i < 400 && view.status === 'running'; i++) {
    await settle();
    view = (await h.api('GET', `/admin/runs/${id}`)).body.run;
  }
  t.match(view, { status: 'cancelled', phase: 'ended', tasks: [{ id: 'wait', status: 'cancelled' }] });
  let after = before;
  for (let i = 0; i < 30 && after === before; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    after = await h.probeCount('cancelled');
  }
  t.equal(after, before + 1, 'the upstream received notifications/cancelled');
  t.match(await h.api('POST', `/admin/runs/${id}/cancel`), { status: 409, body: { error: { code: 'runEnded' } } }, 'an ended run cannot be cancelled');

  const lines = readFileSync(path.join(h.runsDir, `${id}.jsonl`), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; by?: string });
  t.match(lines[0], { type: 'run_request', by: `spiffe://${TRUST_DOMAIN}/admin/alice` }, 'the transcript says who started it');
  t.match(lines.find((l) => l.type === 'run_cancel'), { by: `spiffe://${TRUST_DOMAIN}/admin/alice` }, 'and who cancelled it');
  t.match(lines.at(-1), { type: 'run_end', status: 'cancelled' });
});
