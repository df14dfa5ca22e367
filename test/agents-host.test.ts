/**
 * `portcullis start` hosting the orchestrator: the `orchestrator:` section
 * is validated (unknown keys refused, each provider by its owner's schema,
 * mtls required on the listener, a CA key required with an own PKI); a run
 * started on the host goes over mTLS to the gateway's own listener, each
 * worker under a certificate the gateway minted (the audit trail names it,
 * authenticated by mtls), and is written to the runs folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { auditFilesOf, parseLine, readLines } from '../gateway/audit/read.js';
import { ConfigError, configFromObject } from '../gateway/config/load.js';
import { startHostingGateway, waitingScript } from './fixtures/agents-host.js';
import { startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

t.test('the orchestrator section is validated', async (t) => {
  t.throws(() => configFromObject({ orchestrator: { runs_dir: 'r', colour: 'blue' } }, '/tmp'), new ConfigError('portcullis.yaml: unknown key "orchestrator.colour"'));
  t.throws(() => configFromObject({ orchestrator: { concurrency: 0 } }, '/tmp'), /orchestrator\.concurrency" must be >= 1/);
  const defaults = configFromObject({ orchestrator: {} }, '/tmp').orchestrator;
  t.match(defaults, { providers: { anthropic: { kind: 'anthropic' }, openai: { kind: 'openai' } }, runs_dir: 'var/runs', concurrency: 4, max_runs: 4, identity_ttl_s: 3600 });
  await t.rejects(
    startTestGateway(t, { orchestrator: { providers: { fake: { kind: 'anthropic', api_key: 'sk-in-the-config' } } } }),
    new ConfigError('portcullis.yaml: orchestrator.providers: unknown key "fake.api_key"'),
    'a key in the configuration is an unknown key (the providers schema decides)',
  );
  await t.rejects(startTestGateway(t, { listen: { auth: ['jwt'] }, orchestrator: {} }), /the orchestrator section needs mtls in listen.auth/);
  await t.rejects(startTestGateway(t, { orchestrator: { definitions: '/nonexistent/definitions' } }), /orchestrator.definitions: cannot read \/nonexistent\/definitions/);
});

t.test('a hosted run reaches the gateway over mTLS as its own agents', async (t) => {
  const h = await startHostingGateway(t, waitingScript(1));
  const runs = h.g.gateway.runs;
  if (runs === undefined) throw new Error('the gateway hosts no runs');
  const started = runs.start('lead', 'wait briefly', 'test');
  type View = { status: string; answer?: string; tasks: Array<{ id: string; status: string }> };
  let view = runs.view(started.id) as unknown as View;
  for (let i = 0; i < 400 && view.status === 'running'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    view = runs.view(started.id) as unknown as View;
  }
  t.match(view, { status: 'done', answer: 'Summary: the waiter waited.', tasks: [{ id: 'wait', status: 'done' }] });

  // The transcript is in the runs folder; the worker's tool call names its gateway session.
  const lines = readFileSync(path.join(h.runsDir, `${started.id}.jsonl`), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const call = lines.find((l) => l.type === 'tool_call');
  t.match(call, { agent: 'waiter', tool: 'probe__wait', outcome: 'ok', session: /./ });

  // The audit trail: the call came from the waiter's own certificate (mTLS), in that session.
  const records = [];
  for (const file of await auditFilesOf(path.join(h.g.dir, 'audit'))) {
    for (const line of (await readLines(file)).lines) records.push(parseLine(line) as { tool?: string; session?: string; agent?: { id?: string; auth?: string } });
  }
  const audited = records.find((r) => r.tool === 'wait');
  t.match(audited, { agent: { id: `spiffe://${TRUST_DOMAIN}/agent/waiter`, auth: 'mtls' } }, 'the worker is its own agent to the gateway');
  t.notOk(records.some((r) => r.agent?.id === `spiffe://${TRUST_DOMAIN}/agent/lead` && r.tool !== undefined), 'the lead called no tool');
  t.equal(h.provider.requests.length, 4, 'planner, two worker turns, synthesizer');
});
