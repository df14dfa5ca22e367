/**
 * A whole run through a real gateway over mTLS: the planner (a fake
 * Anthropic server) emits a four-task diamond; the researcher, coder,
 * reviewer and tester call the real filesystem and everything servers, each
 * under its own short-lived certificate; the reviewer's read outside the
 * sandbox is denied and the model sees the gateway's reason; the coder's
 * write is held until an approver approves it through the admin API, while
 * the other branch goes on; the synthesizer answers; the audit trail names
 * every worker, and each tool call of the transcript carries the audit call
 * id that `portcullis audit query --call-id` finds with the same identity
 * and tool. Then: a cyclic plan is refused and repaired once; a failover
 * shows in the transcript; each budget (turns, tokens, wall clock) ends its
 * worker with its status; cancelling reaches the upstream.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { builtinDefinitionsDir, loadDefinitions } from '../agents/catalog/load.js';
import { providersFromObject } from '../agents/providers/config.js';
import { ModelRouter } from '../agents/providers/failover.js';
import type { AgentDefinition } from '../agents/catalog/schema.js';
import { Run } from '../agents/run/run.js';
import type { RunOptions } from '../agents/run/run.js';
import { Transcript } from '../agents/run/transcript.js';
import { auditFilesOf, parseLine, readLines } from '../gateway/audit/read.js';
import { run as auditCli } from '../gateway/cli/audit.js';
import { GatewayClient } from '../gateway/client/index.js';
import type { CallOutcome } from '../gateway/client/index.js';
import type { PolicyDecider } from '../gateway/policy/engine/decision.js';
import { createAdminCert, createClientCert, validFor } from '../gateway/pki/certs.js';
import { EVERYTHING, FILESYSTEM, PROBE, policyWithGrants, startTestGateway, tlsFetch, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
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

async function setup(t: Test, decider?: PolicyDecider): Promise<Setup> {
  // The default policy's filesystem roots include /**/var/sandbox/.
  const work = mkdtempSync(path.join(os.tmpdir(), 'portcullis-run-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const sandbox = path.join(work, 'var', 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  const g = await startTestGateway(
    t,
    {
      holds: { mode: 'retry', approvers: { alice: { roles: ['approver'] } } },
      audit: { dir: 'audit' },
      upstreams: {
        filesystem: { stdio: { command: 'node', args: [FILESYSTEM, sandbox] } },
        everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } },
        ...(decider === undefined ? {} : { probe: { stdio: { command: 'node', args: [PROBE] } } }),
      },
    },
    decider,
  );
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

/** The shipped definitions, with one agent changed (a test's budget or tools). */
function withDefinition(name: string, change: (definition: AgentDefinition) => AgentDefinition): Map<string, AgentDefinition> {
  const copy = new Map(definitions);
  const original = copy.get(name);
  if (original === undefined) throw new Error(`no ${name} definition`);
  copy.set(name, change(original));
  return copy;
}

/** What `portcullis audit query <dir> --call-id <id>` prints, parsed. */
async function auditRecordsOf(dir: string, callId: string): Promise<Array<{ type: string; call_id: string; agent: { id: string }; server: string; tool?: string; decision?: string; outcome?: string; hold_id?: string }>> {
  let out = '';
  const code = await auditCli(['query', dir, '--call-id', callId], { out: (text) => (out += text), err: () => undefined });
  if (code !== 0) throw new Error(`audit query exited ${code}`);
  return out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
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
    const calls: Record<string, Array<{ name: string; input: Record<string, unknown> }>> = {
      researcher: [
        { name: 'filesystem__read_text_file', input: { path: path.join(sandbox, 'notes.txt') } },
        { name: 'everything__echo', input: { message: 'found the notes' } },
      ],
      coder: [{ name: 'filesystem__write_file', input: { path: path.join(sandbox, 'out.txt'), content: 'hello' } }],
      reviewer: [{ name: 'filesystem__read_text_file', input: { path: '/etc/passwd' } }],
      tester: [{ name: 'filesystem__read_text_file', input: { path: path.join(sandbox, 'out.txt') } }],
    };
    const asked = calls[who];
    return asked === undefined ? { kind: 'answer', text: 'nothing to do' } : { kind: 'answer', calls: asked };
  });
  const running = new Run(o).execute();

  // The coder's write is held; the reviewer's branch goes on meanwhile (bounded polls: up to a minute on a loaded machine).
  const { holds } = g.gateway.enforcement;
  let held;
  for (let i = 0; i < 2400 && held === undefined; i++) {
    held = holds.list({ pendingOnly: true }).find((h) => h.agent_name === 'coder');
    if (held === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.ok(held, 'the coder write is held');
  const ended = (task: string): boolean => o.transcript.entries.some((e) => e.type === 'task_end' && e.task === task);
  const announced = (): boolean => o.transcript.entries.some((e) => e.type === 'hold');
  for (let i = 0; i < 2400 && !(ended('review') && announced()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
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

  // Each tool call leads from the transcript to its audit records: same identity, same tool.
  const toolCalls = lines.filter((l) => l.type === 'tool_call').map((l) => ({ agent: String(l.agent), tool: String(l.tool), call_id: typeof l.call_id === 'string' ? l.call_id : undefined }));
  t.same(toolCalls.map((c) => c.tool).sort(), ['everything__echo', 'filesystem__read_text_file', 'filesystem__read_text_file', 'filesystem__read_text_file', 'filesystem__write_file']);
  const auditDir = path.join(g.dir, 'audit');
  for (const call of toolCalls) {
    t.match(call.call_id, /^[0-9a-f-]{36}$/, `${call.agent} ${call.tool}: the transcript has the call id`);
    const records = await auditRecordsOf(auditDir, call.call_id ?? '');
    t.same(
      [...new Set(records.map((r) => `${r.agent.id} ${r.server}__${r.tool ?? ''}`))],
      [`spiffe://${TRUST_DOMAIN}/agent/${call.agent} ${call.tool}`],
      `${call.agent} ${call.tool}: audit query --call-id finds its records, with the same identity and tool`,
    );
    if (call.agent === 'reviewer') t.match(records, [{ type: 'decision', decision: 'deny' }], 'the denied call: its decision record');
  }
  const heldEntry = lines.find((l) => l.type === 'hold') as { call_id?: string } | undefined;
  const heldRecords = await auditRecordsOf(auditDir, heldEntry?.call_id ?? '');
  t.match(heldRecords[0], { type: 'decision', decision: 'hold', tool: 'write_file', agent: { id: `spiffe://${TRUST_DOMAIN}/agent/coder` } }, 'the held call: its own call id, on record as held');
  const written = toolCalls.find((c) => c.tool === 'filesystem__write_file');
  t.not(written?.call_id, heldEntry?.call_id, 'the approved retry is a call of its own');
  t.match(await auditRecordsOf(auditDir, written?.call_id ?? ''), [{ type: 'decision' }, { type: 'outcome', outcome: 'ok', hold_id: held?.id }], 'the approved call went through under its hold');

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

const ONE_TASK = { tasks: [{ id: 'loop', agent: 'researcher', task: 'x', depends_on: [], expected_output: '' }] };

/** The planner plans ONE_TASK, the synthesizer sums up, the worker answers `worker`. */
function oneTask(worker: (request: RecordedRequest) => Step): (request: RecordedRequest) => Step {
  return (request) => {
    const who = speaker(request);
    if (who === 'planner') return { kind: 'answer', text: JSON.stringify(ONE_TASK) };
    if (who === 'synthesizer') return { kind: 'answer', text: 'summary' };
    return worker(request);
  };
}

t.test('a failover shows in the transcript: which provider failed, why, and which answered', async (t) => {
  const { options } = await setup(t);
  const overloaded = await startFakeProvider('anthropic', () => ({ kind: 'status', status: 529 }));
  // The backup speaks the OpenAI format: who asks is told by its system message.
  const backup = await startFakeProvider('openai', (request) => {
    const system = JSON.stringify(request.body.messages?.[0]?.content ?? '');
    if (system.includes('planner')) return { kind: 'answer', text: JSON.stringify(ONE_TASK) };
    return { kind: 'answer', text: system.includes('synthesizer') ? 'summary' : 'from the backup' };
  });
  t.teardown(() => Promise.all([overloaded.close(), backup.close()]));
  const router = new ModelRouter(
    providersFromObject({
      anthropic: { kind: 'anthropic', base_url: overloaded.baseUrl, retries: 0 },
      openai: { kind: 'openai', base_url: backup.baseUrl, retries: 0 },
    }),
    { env: { ANTHROPIC_API_KEY: 'sk-ant-test-key-0123456789abcdefgh', OPENAI_API_KEY: 'sk-test-openai-0123456789abcdef' } },
  );
  const o = await options(() => ({ kind: 'answer', text: 'never' }), { router });
  const result = await new Run(o).execute();
  t.equal(result.status, 'done', result.error ?? '');
  t.match(result.tasks, [{ id: 'loop', status: 'done', output: 'from the backup' }]);
  const task = o.transcript.entries.filter((e) => e.task === 'loop');
  t.match(task.find((e) => e.type === 'llm_attempt'), { provider: 'anthropic', outcome: 'error', failure: 'overloaded', reason: '529 overloaded' });
  t.match(task.find((e) => e.type === 'llm_failover'), { provider: 'anthropic', reason: '529 overloaded' });
  t.match(task.find((e) => e.type === 'llm_exchange'), { provider: 'openai', model: 'gpt-4.1', text: 'from the backup' }, 'the next model of the list answered');
});

t.test('each budget ends its worker with a clear status', async (t) => {
  const { sandbox, options } = await setup(t);
  writeFileSync(path.join(sandbox, 'notes.txt'), 'n');
  const listing: Step = { kind: 'answer', calls: [{ name: 'filesystem__list_directory', input: { path: sandbox } }] };

  await t.test('turns', async (t) => {
    const o = await options(oneTask(() => listing));
    const result = await new Run(o).execute();
    t.match(result.tasks, [{ id: 'loop', status: 'budget_turns' }], `the researcher stops after ${definitions.get('researcher')?.budgets.turns ?? '?'} turns`);
    t.match(o.transcript.entries.find((e) => e.type === 'task_end'), { task: 'loop', status: 'budget_turns', turns: definitions.get('researcher')?.budgets.turns });
  });

  await t.test('tokens', async (t) => {
    const budget = definitions.get('researcher')?.budgets.tokens ?? 0;
    const o = await options(oneTask(() => ({ ...listing, inputTokens: budget, outputTokens: 1 })));
    const result = await new Run(o).execute();
    t.match(result.tasks, [{ id: 'loop', status: 'budget_tokens' }], 'one answer spends the whole token budget');
    t.match(o.transcript.entries.find((e) => e.type === 'task_end'), { task: 'loop', status: 'budget_tokens', turns: 1, tokens: budget + 1 });
  });

  await t.test('wall clock', async (t) => {
    const agents = withDefinition('researcher', (d) => ({ ...d, budgets: { ...d.budgets, wall_clock_s: 0.3 } }));
    // The worker's model never answers: only its wall clock ends it.
    const o = await options(oneTask(() => ({ kind: 'hang' })), { agents });
    const result = await new Run(o).execute();
    t.match(result.tasks, [{ id: 'loop', status: 'budget_wall_clock' }]);
    t.match(o.transcript.entries.find((e) => e.type === 'task_end'), { task: 'loop', status: 'budget_wall_clock' });
    t.match(o.transcript.entries.find((e) => e.type === 'llm_attempt' && e.task === 'loop'), { failure: 'cancelled' }, 'the model request was ended');
  });
});

t.test('cancelling a run ends it and reaches the upstream (notifications/cancelled)', async (t) => {
  const decider = await policyWithGrants(t, { researcher: ['probe'] });
  const { g, options } = await setup(t, decider);
  const agents = withDefinition('researcher', (d) => ({ ...d, tools: [...d.tools, 'probe__wait'] }));
  const abort = new AbortController();
  const o = await options(oneTask(() => ({ kind: 'answer', calls: [{ name: 'probe__wait', input: { ms: 60_000 } }] })), { agents, signal: abort.signal });
  // A second researcher session watches the probe upstream.
  const watcher = await GatewayClient.connect({ url: `${g.gateway.url}/mcp`, identity: { kind: 'certificate', ...g.issue('researcher') }, ca: g.ca });
  t.teardown(() => watcher.close());
  const count = async (tool: string): Promise<number> => {
    const outcome: CallOutcome = await watcher.call(`probe__${tool}`, {});
    return outcome.status === 'ok' ? Number(outcome.result.content.map((c) => (c.type === 'text' ? c.text : '')).join('')) : NaN;
  };

  const run = new Run(o).execute();
  for (let i = 0; i < 2400 && (await count('active')) < 1; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  t.equal(await count('active'), 1, "the worker's call is in flight upstream");
  abort.abort(new Error('cancelled by the test'));
  const cancelled = await run;
  t.equal(cancelled.status, 'cancelled');
  t.match(cancelled.tasks, [{ id: 'loop', status: 'cancelled' }]);
  let seen = 0;
  for (let i = 0; i < 200 && seen < 1; i++) {
    seen = await count('cancelled');
    if (seen < 1) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.equal(seen, 1, 'the upstream received notifications/cancelled');
  t.equal(await count('active'), 0, 'and stopped');
});
