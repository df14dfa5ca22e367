/**
 * A whole run through a real gateway over mTLS: the planner (a fake
 * Anthropic server) emits a four-task diamond; the researcher, coder,
 * reviewer and tester call the real filesystem server, each under its own
 * short-lived certificate; the reviewer's read outside the sandbox is denied
 * and the model sees the gateway's reason; the coder's write is held until
 * an approver approves it through the admin API, while the other branch goes
 * on; the synthesizer answers; the audit trail names every worker. Then: a
 * cyclic plan is refused and repaired once; cancelling reaches the upstream;
 * a turn budget ends a worker with its status.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { builtinDefinitionsDir, loadDefinitions } from '../agents/catalog/load.js';
import { providersFromObject } from '../agents/providers/config.js';
import { ModelRouter } from '../agents/providers/failover.js';
import { Run } from '../agents/run/run.js';
import type { RunOptions } from '../agents/run/run.js';
import { Transcript } from '../agents/run/transcript.js';
import { auditFilesOf, parseLine, readLines } from '../gateway/audit/read.js';
import { createAdminCert, createClientCert, validFor } from '../gateway/pki/certs.js';
import { FILESYSTEM, startTestGateway, tlsFetch, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import type { TestGateway } from './fixtures/gateway-harness.js';
import { startFakeProvider } from './fixtures/llm-servers.js';
import type { RecordedRequest, Step } from './fixtures/llm-servers.js';

const definitions = loadDefinitions(builtinDefinitionsDir());

/** Which agent (or phase) an Anthropic request comes from, by its system prompt. */
function speaker(request: RecordedRequest): string {
  const system = JSON.stringify(request.body.system ?? '');
  const m = /You are (?:the )?([a-z]+)/.exec(system);
  return m?.[1] ?? 'unknown';
}

/** The text of the last tool result the model was given (Anthropic wire format). */
function lastToolResult(request: RecordedRequest): { text: string; isError: boolean } {
  const last = request.body.messages.at(-1);
  const block = (last?.content ?? []).find((b: { type: string }) => b.type === 'tool_result');
  const content = block?.content;
  const text = typeof content === 'string' ? content : (content ?? []).map((c: { text?: string }) => c.text ?? '').join('');
  return { text, isError: block?.is_error === true };
}

interface Setup {
  g: TestGateway;
  sandbox: string;
  options: (script: (request: RecordedRequest) => Step, extra?: Partial<RunOptions>) => Promise<RunOptions>;
}

async function setup(t: Test): Promise<Setup> {
  const g0 = await startTestGateway(t, { holds: { mode: 'retry', approvers: { alice: { roles: ['approver'] } } }, audit: { dir: 'audit' } });
  // The default policy's roots include /**/var/sandbox/: give the filesystem server such a folder in a second gateway.
  const sandbox = path.join(g0.dir, 'var', 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  await g0.gateway.close();
  const g = await startTestGateway(t, {
    holds: { mode: 'retry', approvers: { alice: { roles: ['approver'] } } },
    audit: { dir: 'audit' },
    upstreams: { filesystem: { stdio: { command: 'node', args: [FILESYSTEM, sandbox] } } },
  });
  const ca = { certPem: g.ca, keyPem: readFileSync(g.pki.caKey, 'utf8') };
  const options = async (script: (request: RecordedRequest) => Step, extra: Partial<RunOptions> = {}): Promise<RunOptions> => {
    const provider = await startFakeProvider('anthropic', (request) => script(request));
    t.teardown(() => provider.close());
    const router = new ModelRouter(providersFromObject({ anthropic: { kind: 'anthropic', base_url: provider.baseUrl, retries: 0 } }), { env: { ANTHROPIC_API_KEY: 'sk-ant-test-key-0123456789abcdefgh' } });
    const orchestrator = definitions.get('orchestrator');
    if (orchestrator === undefined) throw new Error('no orchestrator definition');
    return {
      task: 'Write out.txt from the notes, review and test it.',
      orchestrator,
      agents: definitions,
      router,
      gateway: {
        url: `${g.gateway.url}/mcp`,
        ca: g.ca,
        identityFor: async (agent) => {
          const cert = createClientCert(ca, TRUST_DOMAIN, agent, validFor(1 / 24));
          return { kind: 'certificate', cert: cert.certPem, key: cert.keyPem };
        },
        consoleUrl: `${g.gateway.url}/console`,
      },
      transcript: new Transcript('run-test', path.join(g.dir, 'runs', 'run-test.jsonl')),
      signal: new AbortController().signal,
      concurrency: 3,
      holdPollMs: 50,
      ...extra,
    };
  };
  return { g, sandbox, options };
}

const DIAMOND = {
  tasks: [
    { id: 'notes', agent: 'researcher', task: 'Read the notes', depends_on: [], expected_output: 'the notes' },
    { id: 'code', agent: 'coder', task: 'Write out.txt', depends_on: ['notes'], expected_output: 'out.txt' },
    { id: 'review', agent: 'reviewer', task: 'Review', depends_on: ['notes'], expected_output: 'a verdict' },
    { id: 'test', agent: 'tester', task: 'Check out.txt', depends_on: ['code', 'review'], expected_output: 'a check' },
  ],
};

t.test('a full run: diamond DAG, a denial, a hold approved through the admin API, the synthesis', async (t) => {
  const { g, sandbox, options } = await setup(t);
  writeFileSync(path.join(sandbox, 'notes.txt'), 'the notes say: hello');
  const seen: Record<string, { text: string; isError: boolean }> = {};
  const o = await options((request) => {
    const who = speaker(request);
    const first = request.body.messages.length === 1;
    if (who === 'planner') return { kind: 'answer', text: `Here is the plan:\n${JSON.stringify(DIAMOND)}` };
    if (who === 'synthesizer') {
      const prompt = JSON.stringify(request.body.messages[0].content);
      return { kind: 'answer', text: `Final answer from: ${['researcher done: the notes say: hello', 'tester done: hello', 'verdict'].filter((s) => prompt.includes(s)).join(', ')}` };
    }
    if (!first) {
      seen[who] = lastToolResult(request);
      if (who === 'reviewer') return { kind: 'answer', text: JSON.stringify({ verdict: 'approve', findings: [] }) };
      return { kind: 'answer', text: `${who} done: ${seen[who]?.text ?? ''}` };
    }
    const calls: Record<string, { name: string; input: Record<string, unknown> }> = {
      researcher: { name: 'filesystem__read_text_file', input: { path: path.join(sandbox, 'notes.txt') } },
      coder: { name: 'filesystem__write_file', input: { path: path.join(sandbox, 'out.txt'), content: 'hello' } },
      reviewer: { name: 'filesystem__read_text_file', input: { path: '/etc/passwd' } },
      tester: { name: 'filesystem__read_text_file', input: { path: path.join(sandbox, 'out.txt') } },
    };
    const call = calls[who];
    return call === undefined ? { kind: 'answer', text: 'nothing to do' } : { kind: 'answer', calls: [call] };
  });
  const running = new Run(o).execute();

  // The coder's write is held; the reviewer's branch goes on meanwhile.
  const { holds } = g.gateway.enforcement;
  let held;
  for (let i = 0; i < 400 && held === undefined; i++) {
    held = holds.list({ pendingOnly: true }).find((h) => h.agent_name === 'coder');
    if (held === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.ok(held, 'the coder write is held');
  const ended = (task: string): boolean => o.transcript.entries.some((e) => e.type === 'task_end' && e.task === task);
  const announced = (): boolean => o.transcript.entries.some((e) => e.type === 'hold');
  for (let i = 0; i < 400 && !(ended('review') && announced()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  t.ok(ended('review') && !ended('code'), 'the review finished while the code task waited for approval');
  t.match(o.transcript.entries.find((e) => e.type === 'hold'), { task: 'code', hold_id: held?.id, console_url: /\/console$/ }, 'the hold id and console are shown');

  const ca = { certPem: g.ca, keyPem: readFileSync(g.pki.caKey, 'utf8') };
  const alice = createAdminCert(ca, TRUST_DOMAIN, 'alice');
  const adminFetch = tlsFetch(t, { ca: g.ca, cert: alice.certPem, key: alice.keyPem });
  const approved = await adminFetch(`${g.gateway.url}/admin/holds/${held?.id ?? ''}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portcullis-csrf': '1' },
    body: JSON.stringify({ digest: held?.digest, revision: held?.revision }),
  });
  t.equal(approved.status, 200, 'approved through the admin API');

  const result = await running;
  t.equal(result.status, 'done', result.error ?? '');
  t.equal(result.answer, 'Final answer from: researcher done: the notes say: hello, tester done: hello, verdict', 'the synthesis saw the results');
  t.same(result.tasks.map((r) => [r.id, r.status]), [['notes', 'done'], ['code', 'done'], ['review', 'done'], ['test', 'done']]);
  t.equal(readFileSync(path.join(sandbox, 'out.txt'), 'utf8'), 'hello', 'the approved write reached the filesystem');
  t.match(seen.researcher, { text: 'the notes say: hello', isError: false });
  t.match(seen.reviewer, { isError: true, text: /^Refused by the Portcullis gateway: Denied by policy/ }, 'the denial reached the model as a tool error with the reason');
  t.match(seen.tester, { text: 'hello', isError: false }, 'the tester read what the coder wrote');

  // The transcript: JSONL on disk, the plan, exchanges with tokens, tool calls with session, sanitized.
  const lines = readFileSync(o.transcript.file ?? '', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
  t.match(lines.find((l) => l.type === 'plan'), { tasks: DIAMOND.tasks });
  t.ok(lines.filter((l) => l.type === 'llm_exchange').every((l) => typeof l.input_tokens === 'number' && typeof l.output_tokens === 'number'));
  t.match(lines.find((l) => l.type === 'tool_call' && l.task === 'code'), { outcome: 'ok', hold_id: held?.id, session: /./ });
  t.notMatch(readFileSync(o.transcript.file ?? '', 'utf8'), /sk-ant-test-key/, 'no key in the transcript');

  // The audit trail tells the workers apart.
  const agents = new Set<string>();
  for (const file of await auditFilesOf(path.join(g.dir, 'audit'))) {
    for (const line of (await readLines(file)).lines) {
      const record = parseLine(line) as { agent?: { id?: string }; tool?: string } | undefined;
      if (record?.tool !== undefined && record.agent?.id !== undefined) agents.add(record.agent.id);
    }
  }
  for (const agent of ['researcher', 'coder', 'reviewer', 'tester']) t.ok(agents.has(`spiffe://${TRUST_DOMAIN}/agent/${agent}`), `the audit trail names ${agent}`);
  t.notOk(agents.has(`spiffe://${TRUST_DOMAIN}/agent/orchestrator`), 'the orchestrator called no tool');
});

t.test('a cyclic plan is refused and the planner repairs it once; twice refused fails the run', async (t) => {
  const { options } = await setup(t);
  const cyclic = { tasks: [{ id: 'a', agent: 'researcher', task: 'x', depends_on: ['b'], expected_output: '' }, { id: 'b', agent: 'researcher', task: 'y', depends_on: ['a'], expected_output: '' }] };
  const fixed = { tasks: [{ id: 'a', agent: 'researcher', task: 'x', depends_on: [], expected_output: '' }] };
  let plans = 0;
  const o = await options((request) => {
    const who = speaker(request);
    if (who === 'planner') return { kind: 'answer', text: JSON.stringify(plans++ === 0 ? cyclic : fixed) };
    return { kind: 'answer', text: `${who} done` };
  });
  const result = await new Run(o).execute();
  t.equal(result.status, 'done');
  t.match(o.transcript.entries.find((e) => e.type === 'plan_refused'), { error: 'the dependencies form a cycle: a -> b -> a' });
  const o2 = await options((request) => ({ kind: 'answer', text: speaker(request) === 'planner' ? JSON.stringify(cyclic) : 'x' }));
  const failed = await new Run(o2).execute();
  t.equal(failed.status, 'failed');
  t.match(failed.error, /refused twice; last: the dependencies form a cycle/);
});

t.test('budgets end a worker with a clear status; cancelling ends the run', async (t) => {
  const { sandbox, options } = await setup(t);
  writeFileSync(path.join(sandbox, 'notes.txt'), 'n');
  const plan = { tasks: [{ id: 'loop', agent: 'researcher', task: 'x', depends_on: [], expected_output: '' }] };
  const looping = (request: RecordedRequest): Step =>
    speaker(request) === 'planner'
      ? { kind: 'answer', text: JSON.stringify(plan) }
      : speaker(request) === 'synthesizer'
        ? { kind: 'answer', text: 'summary' }
        : { kind: 'answer', calls: [{ name: 'filesystem__list_directory', input: { path: sandbox } }] };
  const o = await options(looping);
  const result = await new Run(o).execute();
  t.match(result.tasks, [{ id: 'loop', status: 'budget_turns' }], `the researcher stops after ${definitions.get('researcher')?.budgets.turns ?? '?'} turns`);

  const abort = new AbortController();
  const o2 = await options(looping, { signal: abort.signal });
  const run = new Run(o2).execute();
  for (let i = 0; i < 400 && !o2.transcript.entries.some((e) => e.type === 'tool_call'); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  abort.abort(new Error('cancelled by the test'));
  const cancelled = await run;
  t.equal(cancelled.status, 'cancelled');
  t.match(cancelled.tasks, [{ id: 'loop', status: 'cancelled' }]);
});
