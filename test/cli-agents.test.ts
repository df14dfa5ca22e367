/**
 * `portcullis agents` against a real gateway, with a fake model provider:
 * `run` prints plain lines of the live view off a terminal and the answer,
 * exits 0; without a usable provider it names the variables to set (exit
 * 2); Ctrl-C cancels the run down to the upstream (exit 130); `runs` lists
 * the history, `show` tells a transcript (and gives it as data with
 * --json); `list` shows each definition with the tools the gateway lists
 * to its identity.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { run } from '../gateway/cli/agents.js';
import type { Io } from '../gateway/cli/agents.js';
import { startHostingGateway, waitingScript } from './fixtures/agents-host.js';
import type { HostingGateway } from './fixtures/agents-host.js';
import { TRUST_DOMAIN } from './fixtures/gateway-harness.js';

interface Answer {
  code: number;
  out: string;
  err: string;
}

/** Runs a command; `output` shows what it printed so far (for a run still going). */
function started(args: string[], options: { env?: NodeJS.ProcessEnv; interrupt?: AbortSignal } = {}): { done: Promise<Answer>; output: () => string } {
  let out = '';
  let err = '';
  const io: Io = { out: (text) => (out += text), err: (text) => (err += text), env: options.env ?? {}, isTTY: false, ...(options.interrupt === undefined ? {} : { interrupt: options.interrupt }) };
  return { done: run(args, io).then((code) => ({ code, out, err })), output: () => out };
}

const cli = (args: string[]): Promise<Answer> => started(args).done;

/** A portcullis.yaml for the CLI: the gateway's PKI, the test's providers and definitions, its own runs folder. */
function configFile(h: HostingGateway, name: string, orchestrator: Record<string, unknown> | undefined): string {
  const file = path.join(h.g.dir, name);
  const document: Record<string, unknown> = { tls: { dir: 'certs', trust_domain: TRUST_DOMAIN } };
  if (orchestrator !== undefined) document.orchestrator = orchestrator;
  writeFileSync(file, stringify(document));
  return file;
}

t.test('portcullis agents', async (t) => {
  const h = await startHostingGateway(t, waitingScript(1));
  const runsDir = path.join(h.g.dir, 'cli-runs');
  const providers = { fake: { kind: 'anthropic', base_url: h.provider.baseUrl, api_key_file: h.keyFile, retries: 0 } };
  const config = configFile(h, 'cli.yaml', { providers, definitions: h.definitionsDir, runs_dir: runsDir, hold_poll_ms: 50 });
  const common = ['--config', config, '--url', h.g.gateway.url];

  let id = '';
  await t.test('run: plain lines, the answer, exit 0', async (t) => {
    const answer = await cli(['run', 'lead', 'wait briefly', ...common]);
    t.equal(answer.code, 0, answer.err);
    t.match(answer.out, /\] planning: thinking \(turn 1\)\n/);
    t.match(answer.out, /\] planned wait \(waiter\)\n/);
    t.match(answer.out, /\] wait \(waiter\): calling probe__wait\n/);
    t.match(answer.out, /\] wait \(waiter\): done\n/);
    t.match(answer.out, /\] run done\n\nSummary: the waiter waited.\n$/);
    t.notMatch(answer.out, /\x1b\[/, 'no terminal control off a terminal');
    id = /run (\S+) done; transcript (\S+)/.exec(answer.err)?.[1] ?? '';
    t.match(answer.err, `transcript ${path.join(runsDir, `${id}.jsonl`)}`);
  });

  await t.test('runs and show', async (t) => {
    const runs = await cli(['runs', '--config', config]);
    t.equal(runs.code, 0);
    t.match(runs.out, new RegExp(`^${id}  lead +done .* 1 tasks  wait briefly\\n$`));
    const shown = await cli(['show', id, '--config', config]);
    t.equal(shown.code, 0);
    t.match(shown.out, /run started by lead: wait briefly/);
    t.match(shown.out, /\[wait\] waiter called probe__wait \(toolu_\S+\): ok in \d+ ms\n {4}arguments \{"ms":1\}; session \S+/);
    t.match(shown.out, /synthesis done\n {4}Summary: the waiter waited./);
    const data = await cli(['show', id, '--json', '--config', config]);
    const entries = JSON.parse(data.out) as Array<{ type: string }>;
    t.same([entries[0]?.type, entries.at(-1)?.type], ['run_start', 'run_end']);
    t.ok(entries.some((e) => e.type === 'llm_exchange'));
    t.match(await cli(['show', '20250102T030405Z-abcdef', '--config', config]), { code: 1, err: /no run 20250102T030405Z-abcdef/ });
    await t.rejects(cli(['show', '../../etc/passwd', '--config', config]), /is not a run id/);
  });

  await t.test('list: definitions and the tools the gateway lists to each', async (t) => {
    const answer = await cli(['list', ...common]);
    t.equal(answer.code, 0, answer.err);
    t.match(answer.out, `waiter (worker): Waits on the probe server.\n  models: fake/fake-1\n`);
    // Granted all of the probe server, it asks for one tool of it.
    t.match(answer.out, new RegExp(`the gateway lists to spiffe://${TRUST_DOMAIN}/agent/waiter: probe__active, probe__cancelled, [^\\n]*probe__wait\\n  so it may call: probe__wait `));
    t.match(answer.out, `the gateway lists to spiffe://${TRUST_DOMAIN}/agent/lead: nothing, it refuses the identity: Denied by policy: unknown agent`);
    const data = JSON.parse((await cli(['list', '--json', ...common])).out) as { agents: Array<{ name: string; usable?: string[] }> };
    t.same(data.agents.find((a) => a.name === 'waiter')?.usable, ['probe__wait']);
    const away = await cli(['list', '--config', config, '--url', 'https://127.0.0.1:1']);
    t.equal(away.code, 1, 'grants unknown when the gateway does not answer');
    t.match(away.err, /grants unknown, the gateway at https:\/\/127.0.0.1:1 did not answer/);
  });

  await t.test('without a usable provider: which variables or files to set, exit 2', async (t) => {
    const absent = configFile(h, 'absent.yaml', { providers: { fake: { kind: 'anthropic', api_key_env: 'PORTCULLIS_TEST_ABSENT' } }, definitions: h.definitionsDir, runs_dir: runsDir });
    const answer = await cli(['run', 'lead', 'x', '--config', absent, '--url', h.g.gateway.url]);
    t.equal(answer.code, 2);
    t.match(answer.err, 'no model provider is usable: set PORTCULLIS_TEST_ABSENT for provider "fake" (agents: lead, waiter)');
    const shipped = configFile(h, 'none.yaml', undefined);
    const none = await cli(['run', 'orchestrator', 'x', '--config', shipped, '--url', h.g.gateway.url]);
    t.equal(none.code, 2);
    t.match(none.err, /set ANTHROPIC_API_KEY for provider "anthropic", or set OPENAI_API_KEY for provider "openai", or configure provider "local" \(orchestrator.providers\)/);
    t.match(none.err, /Keys come only from the environment or files/);
    t.equal(h.provider.requests.filter((r) => r.headers['x-api-key'] === undefined).length, 0);
    await t.rejects(cli(['run', 'lead', ...common]), /expected <agent> "<task>"/);
  });

  await t.test('Ctrl-C cancels the run and the upstream call', async (t) => {
    h.provider.script(waitingScript(60_000));
    const before = await h.probeCount('cancelled');
    const ctrlC = new AbortController();
    const running = started(['run', 'lead', 'wait long', ...common], { interrupt: ctrlC.signal });
    for (let i = 0; i < 1200 && !running.output().includes('calling probe__wait'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    // The probe counts are asked as the waiter, whose rate class allows about one call a second: asked gently.
    for (let i = 0; i < 30 && (await h.probeCount('active')) < 1; i++) await new Promise((resolve) => setTimeout(resolve, 1000));
    ctrlC.abort();
    const answer = await running.done;
    t.equal(answer.code, 130);
    t.match(answer.err, /cancelling the run \(Ctrl-C\)[^]*run \S+ cancelled/);
    t.match(answer.out, /\] wait \(waiter\): cancelled\n/);
    let after = before;
    for (let i = 0; i < 30 && after === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      after = await h.probeCount('cancelled');
    }
    t.equal(after, before + 1, 'the upstream received notifications/cancelled');
  });
});
