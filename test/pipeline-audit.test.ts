/**
 * The audit stage with fake services: it refuses when the trail cannot
 * record, puts an allowed decision on record before rate limit, hold and
 * forward see the message (write-ahead), records a denial on the way back
 * and the outcome after the answer, counts every request in the metrics, and
 * tells the agent (never the upstream) the call id its records carry.
 */
import t from 'tap';
import { ERRORS, GatewayError } from '../gateway/errors.js';
import { auditStage } from '../gateway/pipeline/audit.js';
import type { Outcome, Stage } from '../gateway/pipeline/context.js';
import { decideStage } from '../gateway/pipeline/decide.js';
import { routeStage } from '../gateway/pipeline/route.js';
import { runPipeline } from '../gateway/pipeline/run.js';
import { STAGES } from '../gateway/pipeline/stages.js';
import type { RateLimiter } from '../gateway/ratelimit/limiter.js';
import type { DecisionEvent, OutcomeEvent } from '../gateway/audit/index.js';
import { nextAnswering, pipelineFakes, runStage, textResult, toolEntry } from './fixtures/pipeline-fakes.js';
import type { PipelineFakes } from './fixtures/pipeline-fakes.js';

/** Bounded wait for a condition another promise chain makes true. */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !condition(); turn++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition never held');
}

async function sample(fakes: PipelineFakes, series: string): Promise<number | undefined> {
  const { body } = await fakes.services.metrics.exposition();
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Stands in for forward: notes what was on record when the message got there. */
function forwardProbe(fakes: PipelineFakes, answer: Outcome = { kind: 'result', result: textResult('done') }): Stage & { onRecord: string[][] } {
  const probe = Object.assign(
    async (): Promise<Outcome> => {
      probe.onRecord.push(fakes.audit.types);
      return answer;
    },
    { onRecord: [] as string[][] },
  );
  return probe;
}

const READ = { name: 'read', arguments: { path: 'notes.txt' } };

t.test('a trail that cannot record refuses the call before anything else', async (t) => {
  const fakes = pipelineFakes(t);
  fakes.audit.failing = true;
  const ctx = fakes.request('tools/call', READ);
  ctx.route = { kind: 'upstream', server: 'files', tool: 'read', params: READ };
  const next = nextAnswering();
  await t.rejects(runStage(auditStage, ctx, next), { name: 'GatewayError', kind: 'auditUnavailable' });
  t.equal(next.calls, 0, 'nothing passed on');
  t.match(fakes.logs, [{ level: 'error', message: 'audit trail unavailable: call refused' }]);
});

t.test('messages the gateway answers itself, and notifications to the agent, pass straight on', async (t) => {
  const fakes = pipelineFakes(t);
  fakes.audit.failing = true;
  const local = fakes.request('ping');
  local.route = { kind: 'local' };
  const next = nextAnswering();
  await auditStage(local, next);
  t.equal(next.calls, 1);
  t.equal(local.callId, undefined);
  t.equal(local.recordDecision, undefined);

  const progress = fakes.fromServer('files', 'notifications/progress', { progressToken: 1, progress: 1 }, 'notification');
  const passed = nextAnswering({ kind: 'none' });
  await auditStage(progress, passed);
  t.equal(passed.calls, 1);
  t.same(fakes.audit.events, []);
});

t.test('an allowed call: decision on record before it goes on, outcome after, one call id', async (t) => {
  const fakes = pipelineFakes(t);
  const probe = forwardProbe(fakes);
  const ctx = fakes.request('tools/call', READ);
  const outcome = await runPipeline([routeStage, auditStage, decideStage, probe], ctx);
  t.same(outcome, { kind: 'result', result: { ...textResult('done'), _meta: { 'portcullis/call_id': ctx.callId } } }, 'the agent is told the call id');
  t.same(probe.onRecord, [['decision']], 'the decision was on record when the message was forwarded');
  t.same(fakes.audit.types, ['decision', 'outcome']);
  const [decision, result] = fakes.audit.events as [DecisionEvent, OutcomeEvent];
  t.match(decision, { call_id: ctx.callId, server: 'files', method: 'tools/call', tool: 'read', decision: 'allow', arguments: READ.arguments, session: 'fake-session' });
  t.match(result, { call_id: ctx.callId, outcome: 'ok' });
  t.equal(ctx.verdict?.recorded, true);
  t.match(fakes.logs, [{ message: 'decision', fields: { server: 'files', tool: 'read', decision: 'allow' } }]);
  t.equal(await sample(fakes, 'portcullis_requests_total{server="files",method="tools/call",decision="allow"}'), 1);
});

t.test('a denial is recorded on the way back, with no outcome record', async (t) => {
  const fakes = pipelineFakes(t, { decide: () => ({ allow: false, reasons: ['not for demo'] }) });
  const probe = forwardProbe(fakes);
  const ctx = fakes.request('tools/call', READ);
  const outcome = await runPipeline([routeStage, auditStage, decideStage, probe], ctx);
  t.match(outcome, { kind: 'error', error: { code: ERRORS.policyDenied.code, message: /not for demo/ } });
  t.same(probe.onRecord, [], 'nothing forwarded');
  t.same(fakes.audit.types, ['decision']);
  t.match(fakes.audit.events[0], { type: 'decision', decision: 'deny', reasons: ['not for demo'], call_id: ctx.callId });
  t.same((outcome as Extract<Outcome, { kind: 'error' }>).error.data, { 'portcullis/call_id': ctx.callId }, "the denial's data carries the call id");
  t.equal(await sample(fakes, 'portcullis_requests_total{server="files",method="tools/call",decision="deny"}'), 1);
});

t.test('a call refused before the policy was asked leaves no record, and counts as an error', async (t) => {
  const fakes = pipelineFakes(t);
  const ctx = fakes.request('tools/call', READ);
  ctx.route = { kind: 'upstream', server: 'files', tool: 'read', params: READ };
  const outcome = await auditStage(ctx, nextAnswering(new GatewayError('invalidParams', 'path: expected string')));
  t.match(outcome, { kind: 'error', error: { code: ERRORS.invalidParams.code } });
  t.same(fakes.audit.events, []);
  t.equal(await sample(fakes, 'portcullis_requests_total{server="files",method="tools/call",decision="error"}'), 1);
});

t.test('a decision record that cannot be written stops the call; an outcome record that cannot is logged', async (t) => {
  const fakes = pipelineFakes(t);
  const probe = forwardProbe(fakes);
  const refusing: Stage = (ctx, next) => {
    fakes.audit.failing = true; // fails between the audit stage's check and the decision record
    return next();
  };
  const ctx = fakes.request('tools/call', READ);
  const refused = await runPipeline([routeStage, auditStage, refusing, decideStage, probe], ctx);
  t.match(refused, { kind: 'error', error: { code: ERRORS.auditUnavailable.code } });
  t.same(probe.onRecord, [], 'nothing forwarded');

  fakes.audit.failing = false;
  const failingLater: Stage = async () => {
    fakes.audit.failing = true;
    return { kind: 'result', result: textResult('done') };
  };
  const answered = await runPipeline([routeStage, auditStage, decideStage, failingLater], fakes.request('tools/call', READ));
  t.match(answered, { kind: 'result', result: textResult('done') }, 'the agent still gets its answer');
  t.match(fakes.logs.at(-1), { level: 'error', message: 'audit outcome record not written' });
});

t.test('without an audit trail the decision is still logged', async (t) => {
  const fakes = pipelineFakes(t, { audit: false });
  const ctx = fakes.request('tools/call', READ);
  const outcome = await runPipeline([routeStage, auditStage, decideStage, forwardProbe(fakes)], ctx);
  t.equal(outcome.kind, 'result');
  t.equal(ctx.callId, undefined, 'no records to correlate');
  t.match(fakes.logs, [{ message: 'decision', fields: { decision: 'allow' } }]);
});

t.test("the call id in an upstream's answer is the gateway's; an error's data keeps what the upstream said", async (t) => {
  const fakes = pipelineFakes(t);
  const spoofing = forwardProbe(fakes, { kind: 'result', result: { ...textResult('done'), _meta: { 'portcullis/call_id': 'forged', 'example.org/trace': 't-1' } } });
  const ctx = fakes.request('tools/call', READ);
  const outcome = await runPipeline([routeStage, auditStage, decideStage, spoofing], ctx);
  t.same((outcome as Extract<Outcome, { kind: 'result' }>).result._meta, { 'portcullis/call_id': ctx.callId, 'example.org/trace': 't-1' });

  const failing = forwardProbe(fakes, { kind: 'error', error: { code: -32000, message: 'tool broke', data: { detail: 'disk', 'portcullis/call_id': 'forged' } } });
  const failed = fakes.request('tools/call', READ);
  const error = await runPipeline([routeStage, auditStage, decideStage, failing], failed);
  t.same((error as Extract<Outcome, { kind: 'error' }>).error.data, { detail: 'disk', 'portcullis/call_id': failed.callId });

  const listData = forwardProbe(fakes, { kind: 'error', error: { code: -32000, message: 'tool broke', data: ['not', 'an', 'object'] } });
  const kept = await runPipeline([routeStage, auditStage, decideStage, listData], fakes.request('tools/call', READ));
  t.same((kept as Extract<Outcome, { kind: 'error' }>).error.data, ['not', 'an', 'object'], 'data that is not an object is left alone');
});

t.test('without an audit trail there is no call id to tell', async (t) => {
  const fakes = pipelineFakes(t, { audit: false });
  const outcome = await runPipeline([routeStage, auditStage, decideStage, forwardProbe(fakes)], fakes.request('tools/call', READ));
  t.same(outcome, { kind: 'result', result: textResult('done') });
});

t.test("an upstream's request to the agent is on record like an agent's call", async (t) => {
  const fakes = pipelineFakes(t);
  const ctx = fakes.fromServer('files', 'sampling/createMessage', { messages: [], maxTokens: 10 });
  const outcome = await runPipeline([routeStage, auditStage, decideStage, forwardProbe(fakes)], ctx);
  t.same(outcome, { kind: 'result', result: textResult('done') }, 'the agent\'s answer goes upstream without a call id');
  t.same(fakes.audit.types, ['decision', 'outcome']);
  t.match(fakes.audit.events[0], { server: 'files', method: 'sampling/createMessage', decision: 'allow' });
});

t.test('through every stage: rate limit, hold and forward come after the decision record', async (t) => {
  const tools = [toolEntry('read', { path: { type: 'string' } })];
  const fakes = pipelineFakes(t, {
    upstreams: { files: { tools } },
    config: { rate_limits: { per_agent: { capacity: 1, refill_per_s: 0.001 } } },
  });
  const upstream = fakes.upstreams.get('files');
  const forwardedCalls = (): number => upstream?.requests.filter((r) => r.method === 'tools/call').length ?? 0;

  // The decision record is slow to write: nothing goes on until it is written.
  let release = (): void => undefined;
  fakes.audit.writes = new Promise<void>((resolve) => (release = resolve));
  const first = runPipeline(STAGES, fakes.request('tools/call', READ));
  await until(() => fakes.decider.inputs.length > 0);
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
  t.equal(forwardedCalls(), 0, 'not forwarded while the decision record is being written');
  t.equal((fakes.services.enforcement.limiter as RateLimiter).size, 0, 'no rate bucket taken yet');
  release();
  t.equal((await first).kind, 'result');
  t.equal(forwardedCalls(), 1);
  t.same(fakes.audit.types, ['decision', 'outcome']);

  // The rate limiter refuses the second call: its decision is on record first.
  let recordedAtRefusal = -1;
  fakes.services.enforcement.onRateLimited(() => (recordedAtRefusal = fakes.audit.events.length));
  const second = await runPipeline(STAGES, fakes.request('tools/call', READ));
  t.match(second, { kind: 'error', error: { code: ERRORS.rateLimited.code } });
  t.equal(recordedAtRefusal, 3, "the second call's decision was written before the rate limiter refused it");
  t.match(fakes.audit.events.slice(2), [{ type: 'decision', decision: 'allow' }, { type: 'outcome', outcome: 'refused' }]);
});

t.test('a held call is proposed only once its decision is on record', async (t) => {
  const fakes = pipelineFakes(t, {
    upstreams: { files: { tools: [toolEntry('read', { path: { type: 'string' } })] } },
    decide: () => ({ allow: true, reasons: ['needs a person'], hold: { approvers: ['approver'], timeout_s: 60 } }),
  });
  const { holds } = fakes.services.enforcement;
  let recordedAtProposal = -1;
  holds.onEvent((event) => {
    if (event.type === 'proposed') recordedAtProposal = fakes.audit.events.length;
  });
  const ctx = fakes.request('tools/call', READ);
  const call = runPipeline(STAGES, ctx);
  await until(() => ctx.holdId !== undefined);
  t.equal(recordedAtProposal, 1, 'the hold decision was on record when the hold was proposed');
  t.match(fakes.audit.events[0], { type: 'decision', decision: 'hold' });
  holds.cancel(ctx.holdId ?? '', 'test over');
  t.match(await call, { kind: 'error', error: { code: ERRORS.cancelled.code } });
  t.match(fakes.audit.events.at(-1), { type: 'outcome', hold_id: ctx.holdId });
});
