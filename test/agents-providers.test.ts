/**
 * Providers through the AI SDK against fake servers speaking each wire
 * format (JSON and SSE): tool calls come back parsed, keys go only where the
 * provider wants them, and failover moves on for exactly the failures it
 * should (429 with Retry-After, 529, 500, a reset connection, a timeout, a
 * malformed body) and stops on 401 with a message naming the key.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { ModelChoice } from '../agents/catalog/schema.js';
import { providersFromObject } from '../agents/providers/config.js';
import { ModelConfigurationError, ModelRouter, NoModelAnsweredError } from '../agents/providers/failover.js';
import type { LlmEvent } from '../agents/providers/failover.js';
import type { FailureKind } from '../agents/providers/failure.js';
import { toolResultsMessage } from '../agents/providers/model.js';
import type { ModelRequest } from '../agents/providers/model.js';
import { modelAnswer } from '../test-support/llm-wire.js';
import { startFakeProvider } from './fixtures/llm-servers.js';
import type { FakeProvider, Flavor, Script, Step } from './fixtures/llm-servers.js';

const KEY = 'sk-test-0123456789abcdefghijklmnop';
const ENV = { PRIMARY_KEY: KEY, BACKUP_KEY: 'backup-key-000000000000' };
const REQUEST: ModelRequest = {
  system: 'You are a test.',
  messages: [{ role: 'user', content: 'Add 2 and 3.' }],
  tools: [{ name: 'everything__get-sum', description: 'Adds', inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } }],
};
const MODELS: ModelChoice[] = [
  { provider: 'primary', model: 'model-a' },
  { provider: 'backup', model: 'model-b' },
];

async function fake(t: Test, flavor: Flavor, steps: Script = []): Promise<FakeProvider> {
  const server = await startFakeProvider(flavor, steps);
  t.teardown(() => server.close());
  return server;
}

function router(providers: Record<string, unknown>, events: LlmEvent[] = []): ModelRouter {
  const r = new ModelRouter(providersFromObject(providers), { env: ENV, random: () => 0 });
  r.onEvent((e) => events.push(e));
  return r;
}

const kinds: Array<[string, Flavor]> = [
  ['anthropic', 'anthropic'],
  ['openai', 'openai'],
  ['openai-compatible', 'openai'],
];

for (const [kind, flavor] of kinds) {
  for (const stream of [false, true]) {
    t.test(`${kind} (${stream ? 'SSE' : 'JSON'}): a tool call, then an answer`, async (t) => {
      const server = await fake(t, flavor, [
        { kind: 'answer', text: 'Let me add.', calls: [{ name: 'everything__get-sum', input: { a: 2, b: 3 } }], inputTokens: 21, outputTokens: 7 },
        { kind: 'answer', text: 'The sum is 5.' },
      ]);
      const r = router({ primary: { kind, base_url: server.baseUrl, api_key_env: 'PRIMARY_KEY', stream } });
      const first = await r.ask(MODELS.slice(0, 1), REQUEST, new AbortController().signal);
      t.same(first.toolCalls.map((c) => [c.name, c.input]), [['everything__get-sum', { a: 2, b: 3 }]], 'the tool call, parsed');
      t.same([first.inputTokens, first.outputTokens], [21, 7], 'token counts');
      t.same([first.provider, first.model], ['primary', 'model-a']);
      const request = server.requests[0];
      t.equal(request?.path, flavor === 'anthropic' ? '/v1/messages' : '/v1/chat/completions', 'the provider API path');
      t.equal(request?.body.model, 'model-a');
      t.equal(Boolean(request?.body.stream), stream);
      if (flavor === 'anthropic') {
        t.equal(request?.headers['x-api-key'], KEY, 'the key in x-api-key');
        t.equal(request?.body.tools[0].name, 'everything__get-sum');
      } else {
        t.equal(request?.headers.authorization, `Bearer ${KEY}`, 'the key as a bearer token');
        t.equal(request?.body.tools[0].function.name, 'everything__get-sum');
      }
      const call = first.toolCalls[0];
      const second = await r.ask(
        MODELS.slice(0, 1),
        {
          ...REQUEST,
          messages: [
            ...REQUEST.messages,
            ...first.messages,
            { role: 'tool', content: [{ type: 'tool-result', toolCallId: call?.id ?? '', toolName: call?.name ?? '', output: { type: 'text', value: '5' } }] },
          ],
        },
        new AbortController().signal,
      );
      t.equal(second.text, 'The sum is 5.');
      t.equal(second.toolCalls.length, 0);
      const sent = JSON.stringify(server.requests[1]?.body);
      t.match(sent, flavor === 'anthropic' ? /"tool_result"/ : /"role":"tool"/, 'the tool result goes back in the provider format');
      // The conversation is built here, not by generateText: the model's own turn goes back as the provider wrote it.
      const echoed = server.requests[1]?.body.messages.find((m: { role: string }) => m.role === 'assistant');
      if (flavor === 'anthropic') {
        t.same(echoed.content, [{ type: 'text', text: 'Let me add.' }, { type: 'tool_use', id: call?.id, name: 'everything__get-sum', input: { a: 2, b: 3 } }], 'the assistant turn: text and tool_use');
        t.equal(server.requests[1]?.body.system[0].text, 'You are a test.', 'the system prompt');
      } else {
        t.match(echoed, { content: 'Let me add.', tool_calls: [{ id: call?.id, type: 'function', function: { name: 'everything__get-sum', arguments: '{"a":2,"b":3}' } }] }, 'the assistant turn: content and tool_calls');
        t.same(server.requests[1]?.body.messages[0], { role: 'system', content: 'You are a test.' }, 'the system prompt');
      }
    });

    t.test(`${kind} (${stream ? 'SSE' : 'JSON'}): a turn of tool calls only sends back no empty text`, async (t) => {
      const server = await fake(t, flavor, [{ kind: 'answer', calls: [{ name: 'everything__get-sum', input: { a: 1, b: 1 } }] }, { kind: 'answer', text: '2' }]);
      const r = router({ primary: { kind, base_url: server.baseUrl, api_key_env: 'PRIMARY_KEY', stream } });
      const first = await r.ask(MODELS.slice(0, 1), REQUEST, new AbortController().signal);
      t.equal(first.text, '');
      t.same(
        first.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content.map((part) => part.type))),
        ['tool-call'],
        'only the tool call is kept of the turn',
      );
      const call = first.toolCalls[0];
      if (call === undefined) throw new Error('no tool call');
      await r.ask(MODELS.slice(0, 1), { ...REQUEST, messages: [...REQUEST.messages, ...first.messages, toolResultsMessage([{ call, output: { type: 'text', value: '2' } }])] }, new AbortController().signal);
      t.notMatch(JSON.stringify(server.requests[1]?.body), /"text":""/, 'no empty text block (the Messages API refuses one)');
    });
  }
}

type Expected = [reason: RegExp, kind: FailureKind];
const failures: Array<[string, Step, Expected, streamed?: Expected]> = [
  ['429 with Retry-After', { kind: 'status', status: 429, headers: { 'retry-after': '0' } }, [/^429 rate limited$/, 'rate_limited']],
  ['529 overloaded', { kind: 'status', status: 529 }, [/^529 overloaded$/, 'overloaded']],
  ['500', { kind: 'status', status: 500 }, [/^500 server error$/, 'server_error']],
  ['connection reset', { kind: 'reset' }, [/^connection error/, 'connection_error']],
  ['timeout', { kind: 'hang' }, [/^timeout$/, 'timeout']],
  // The Anthropic package reads an unreadable first event of a stream as an error event, and reports it as a 500.
  ['malformed body', { kind: 'malformed' }, [/^unreadable answer/, 'unreadable'], [/^500 server error$/, 'server_error']],
];

for (const [what, step, whole, streamed] of failures) for (const stream of [false, true]) {
  const [reason, kind] = stream ? (streamed ?? whole) : whole;
  t.test(`failover on ${what} (${stream ? 'SSE' : 'JSON'})`, async (t) => {
    const primary = await fake(t, 'anthropic', [step, step]);
    const backup = await fake(t, 'openai', [{ kind: 'answer', text: 'from the backup' }]);
    const events: LlmEvent[] = [];
    const r = router(
      {
        primary: { kind: 'anthropic', base_url: primary.baseUrl, api_key_env: 'PRIMARY_KEY', stream, retries: 1, backoff_ms: 1, timeout_ms: 300 },
        backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'BACKUP_KEY' },
      },
      events,
    );
    const answer = await r.ask(MODELS, REQUEST, new AbortController().signal);
    t.same([answer.provider, answer.text], ['backup', 'from the backup'], 'the next provider answered');
    t.equal(primary.requests.length, 2, 'the first provider was retried once');
    const attempts = events.filter((e) => e.type === 'llm_attempt' && e.provider === 'primary');
    t.equal(attempts.length, 2);
    for (const a of attempts) t.match(a, { outcome: 'error', failure: kind, reason });
    t.match(events.find((e) => e.type === 'llm_failover'), { provider: 'primary', reason });
    if (what.startsWith('429')) t.match(events.find((e) => e.type === 'llm_retry'), { wait_ms: 0 }, 'Retry-After decided the wait');
    t.notOk(JSON.stringify(events).includes(KEY), 'no key in the events');
  });
}

for (const stream of [false, true]) {
  t.test(`openai-compatible (${stream ? 'SSE' : 'JSON'}): the model's reasoning goes back with its turn`, async (t) => {
    const call = { id: 'call_1', type: 'function', function: { name: 'everything__get-sum', arguments: '{"a":2,"b":3}' } };
    const base = { id: 'chatcmpl-1', created: 1_700_000_000, model: 'model-a' };
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    const chunk = (delta: unknown, finish: string | null = null): string => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const answers = [
      stream
        ? [
            chunk({ role: 'assistant', reasoning_content: 'Two and three ' }),
            chunk({ reasoning_content: 'make five.' }),
            chunk({ tool_calls: [{ index: 0, ...call }] }),
            chunk({}, 'tool_calls'),
            `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`,
            'data: [DONE]\n\n',
          ].join('')
        : JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: null, reasoning_content: 'Two and three make five.', tool_calls: [call] }, finish_reason: 'tool_calls' }], usage }),
      stream
        ? [chunk({ role: 'assistant', content: '5' }), chunk({}, 'stop'), 'data: [DONE]\n\n'].join('')
        : JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: '5' }, finish_reason: 'stop' }], usage }),
    ];
    const sent: unknown[] = [];
    const scripted: typeof fetch = async (_input, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return new Response(answers[sent.length - 1] ?? '', { status: 200, headers: { 'content-type': stream ? 'text/event-stream' : 'application/json' } });
    };
    const r = new ModelRouter(providersFromObject({ primary: { kind: 'openai-compatible', base_url: 'http://local.invalid/v1', stream } }), { env: ENV, fetch: scripted });
    const first = await r.ask(MODELS.slice(0, 1), REQUEST, new AbortController().signal);
    t.same(first.toolCalls, [{ id: 'call_1', name: 'everything__get-sum', input: { a: 2, b: 3 } }]);
    const answered = first.toolCalls[0];
    if (answered === undefined) throw new Error('no tool call');
    const results = toolResultsMessage([{ call: answered, output: { type: 'text', value: '5' } }]);
    await r.ask(MODELS.slice(0, 1), { ...REQUEST, messages: [...REQUEST.messages, ...first.messages, results] }, new AbortController().signal);
    t.match(sent[1], { messages: [{ role: 'system' }, { role: 'user' }, { role: 'assistant', reasoning_content: 'Two and three make five.', tool_calls: [{ id: 'call_1' }] }, { role: 'tool', tool_call_id: 'call_1', content: '5' }] });
  });
}

t.test('an answer stream cut before its end is unreadable, and fails over', async (t) => {
  const whole = modelAnswer('anthropic', { text: 'cut short', calls: [{ name: 'everything__get-sum', input: { a: 2, b: 3 } }] }, true, 'model-a', 0);
  // The connection ends cleanly after the tool call's block: no message_delta, no message_stop.
  const cut = whole.body.slice(0, whole.body.indexOf('event: message_delta'));
  const backup = await fake(t, 'openai', [{ kind: 'answer', text: 'from the backup' }]);
  const events: LlmEvent[] = [];
  const cutFetch: typeof fetch = async (input, init) =>
    String(input).startsWith(backup.baseUrl) ? fetch(input, init) : new Response(cut, { status: 200, headers: whole.headers });
  const r = new ModelRouter(
    providersFromObject({
      primary: { kind: 'anthropic', base_url: 'http://primary.invalid/v1', api_key_env: 'PRIMARY_KEY', stream: true, retries: 0 },
      backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'BACKUP_KEY' },
    }),
    { env: ENV, random: () => 0, fetch: cutFetch },
  );
  r.onEvent((e) => events.push(e));
  const answer = await r.ask(MODELS, REQUEST, new AbortController().signal);
  t.same([answer.provider, answer.text], ['backup', 'from the backup']);
  t.match(events.find((e) => e.type === 'llm_attempt' && e.provider === 'primary'), { outcome: 'error', failure: 'unreadable', reason: /^unreadable answer/ });
});

t.test('a Retry-After longer than the longest backoff fails over at once', async (t) => {
  const primary = await fake(t, 'anthropic', [{ kind: 'status', status: 429, headers: { 'retry-after': '120' } }]);
  const backup = await fake(t, 'openai', [{ kind: 'answer', text: 'backup' }]);
  const events: LlmEvent[] = [];
  const r = router(
    {
      primary: { kind: 'anthropic', base_url: primary.baseUrl, api_key_env: 'PRIMARY_KEY', retries: 3, max_backoff_ms: 1000 },
      backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'BACKUP_KEY' },
    },
    events,
  );
  t.equal((await r.ask(MODELS, REQUEST, new AbortController().signal)).provider, 'backup');
  t.equal(primary.requests.length, 1, 'no retry of a provider that asked for two minutes');
});

for (const status of [401, 403, 400]) {
  t.test(`${status} does not fail over: it names the key or the model`, async (t) => {
    const primary = await fake(t, 'anthropic', [{ kind: 'status', status }]);
    const backup = await fake(t, 'openai', [{ kind: 'answer', text: 'never' }]);
    const r = router({
      primary: { kind: 'anthropic', base_url: primary.baseUrl, api_key_env: 'PRIMARY_KEY' },
      backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'BACKUP_KEY' },
    });
    const err = await r.ask(MODELS, REQUEST, new AbortController().signal).catch((e: unknown) => e);
    t.ok(err instanceof ModelConfigurationError, String(err));
    t.match((err as Error).message, status === 400 ? /model "model-a".*check the model name "model-a"/ : /check the key in the environment variable PRIMARY_KEY/);
    t.notOk((err as Error).message.includes(KEY), 'the key itself is never said');
    t.equal(primary.requests.length, 1, 'no retry');
    t.equal(backup.requests.length, 0, 'no failover');
  });
}

t.test('the circuit breaker skips a provider that keeps failing, for its cool-down', async (t) => {
  const primary = await fake(t, 'anthropic', () => ({ kind: 'status', status: 503 }));
  const backup = await fake(t, 'openai', () => ({ kind: 'answer', text: 'backup' }));
  const events: LlmEvent[] = [];
  const r = router(
    {
      primary: { kind: 'anthropic', base_url: primary.baseUrl, api_key_env: 'PRIMARY_KEY', retries: 0, breaker_failures: 2, breaker_cooldown_s: 60 },
      backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'BACKUP_KEY' },
    },
    events,
  );
  for (let i = 0; i < 4; i++) t.equal((await r.ask(MODELS, REQUEST, new AbortController().signal)).provider, 'backup');
  t.equal(primary.requests.length, 2, 'after two failures the provider is not asked');
  t.match(events.filter((e) => e.type === 'llm_skipped'), [{ provider: 'primary', reason: /^circuit open until / }, { provider: 'primary' }]);
});

t.test('without keys: skipped, and what to set is said', async (t) => {
  const backup = await fake(t, 'openai', [{ kind: 'answer', text: 'backup' }]);
  const providers = providersFromObject({
    primary: { kind: 'anthropic', base_url: backup.baseUrl },
    backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'NOT_SET_KEY' },
  });
  const r = new ModelRouter(providers, { env: {} });
  t.equal(r.unusable(MODELS), 'no model provider is usable: set ANTHROPIC_API_KEY for provider "primary", or set NOT_SET_KEY for provider "backup"');
  t.equal(r.unusable([{ provider: 'elsewhere', model: 'x' }]), 'no model provider is usable: configure provider "elsewhere" (orchestrator.providers)');
  const err = await r.ask(MODELS, REQUEST, new AbortController().signal).catch((e: unknown) => e);
  t.ok(err instanceof NoModelAnsweredError);
  t.match((err as Error).message, /primary\/model-a: no API key \(set ANTHROPIC_API_KEY\)/);
  t.equal(backup.requests.length, 0);
  t.throws(() => providersFromObject({ primary: { kind: 'anthropic', api_key: 'inline' } }), /unknown key "primary.api_key"/, 'a key in the configuration is refused');
});

t.test('cancelling stops the request at once, without failover', async (t) => {
  const primary = await fake(t, 'anthropic', [{ kind: 'hang' }]);
  const backup = await fake(t, 'openai', [{ kind: 'answer', text: 'never' }]);
  const r = router({
    primary: { kind: 'anthropic', base_url: primary.baseUrl, api_key_env: 'PRIMARY_KEY' },
    backup: { kind: 'openai', base_url: backup.baseUrl, api_key_env: 'BACKUP_KEY' },
  });
  const abort = new AbortController();
  const asked = r.ask(MODELS, REQUEST, abort.signal).catch((e: unknown) => e);
  for (let i = 0; i < 200 && primary.requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  abort.abort(new Error('run cancelled'));
  t.match(await asked, { message: 'run cancelled' });
  t.equal(backup.requests.length, 0);
});
