/**
 * `portcullis agents list | run | runs | show`: the built-in orchestrator
 * from the command line. `run` runs it in this process as an ordinary client
 * of the gateway (each worker under its own certificate from the gateway's
 * CA), with a live view of the plan's tasks on a terminal and plain lines
 * otherwise; Ctrl-C cancels the run, down to the upstream calls in flight.
 * Exit codes: 0 done, 1 the run failed or a lookup found nothing, 2 usage
 * or configuration (e.g. no usable model provider), 130 cancelled.
 */
import { readFileSync } from 'node:fs';
import { viewLines, changeLines, entryLines, historyLine } from '../../agents/host/format.js';
import { readTranscript, runHistory, RUN_ID, transcriptFile } from '../../agents/host/history.js';
import type { RunView } from '../../agents/host/progress.js';
import { matchesPattern } from '../../agents/run/run.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { GatewayClient } from '../client/index.js';
import { loadConfigFile, resolveConfigPath } from '../config/load.js';
import { configuredPki } from '../config/pki-files.js';
import type { PortcullisConfig } from '../config/sections.js';
import { listenerUrl } from '../edge/app.js';
import { orchestratorDefinitions, orchestratorSection, runHost, workerIdentities } from '../orchestrator/host.js';
import { sanitizeText } from '../sanitize/text.js';
import { defaultConfigFile } from '../server.js';
import { parse, stringOption, UsageError } from './args.js';
import type { ParsedCommand } from './args.js';

export const USAGE = `usage:
  portcullis agents list [--json]                 definitions, and the tools the gateway lets each see
  portcullis agents run <agent> "<task>" [--json] run a task (the agent must plan and synthesize, e.g. orchestrator)
  portcullis agents runs [--limit N] [--json]     recorded runs, newest first
  portcullis agents show <run> [--json]           a run's transcript
options (every command):
  --config FILE   portcullis.yaml (default ./portcullis.yaml, else the packaged one): providers, runs folder, PKI
  --url URL       the gateway (list, run; default $PORTCULLIS_URL, else the configured listener)
  --ca FILE       CA of the gateway's server certificate (default: the configured PKI's)
Model providers come from orchestrator.providers (default: anthropic and openai,
keys from ANTHROPIC_API_KEY and OPENAI_API_KEY); see docs/agents.md.`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** A terminal gets the live view redrawn in place; anything else plain lines. */
  isTTY: boolean;
  /** Ctrl-C: cancels a run. Default: SIGINT. */
  interrupt?: AbortSignal;
}

const stdio: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  isTTY: process.stdout.isTTY === true,
};

const OPTIONS = ['config', 'url', 'ca', 'limit'];

interface Setting {
  config: PortcullisConfig;
  parsed: ParsedCommand;
}

function setting(args: string[]): Setting {
  const parsed = parse(args, OPTIONS, ['json']);
  return { config: loadConfigFile(stringOption(parsed, 'config') ?? defaultConfigFile()), parsed };
}

function gatewayUrl({ config, parsed }: Setting, env: NodeJS.ProcessEnv): string {
  const url = stringOption(parsed, 'url') ?? env.PORTCULLIS_URL ?? listenerUrl(config.listen.host, config.listen.port);
  return url.replace(/\/+$/, '');
}

function gatewayCa({ config, parsed }: Setting): string {
  return readFileSync(stringOption(parsed, 'ca') ?? configuredPki(config).ca, 'utf8');
}

function runsDir(config: PortcullisConfig): string {
  return resolveConfigPath(config, orchestratorSection(config).runs_dir);
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Definitions, and per agent the tools the gateway lists to its identity (the running policy's grants). */
async function list(args: string[], io: Io): Promise<number> {
  const s = setting(args);
  if (s.parsed.positionals.length > 0) throw new UsageError('list takes no arguments');
  const definitions = orchestratorDefinitions(s.config);
  const url = gatewayUrl(s, io.env);
  const ca = gatewayCa(s);
  const identityFor = workerIdentities(s.config);
  let unreachable: string | undefined;
  const agents = [];
  for (const d of definitions.values()) {
    let sees: string[] | undefined;
    let refused: string | undefined;
    if (unreachable === undefined) {
      try {
        const client = await GatewayClient.connect({ url: `${url}/mcp`, identity: await identityFor(d.name), ca, clientName: `portcullis-agents-list/${d.name}` });
        try {
          sees = (await client.tools()).map((tool) => tool.name).sort();
        } finally {
          await client.close();
        }
      } catch (err) {
        // The gateway answered and refused this identity (e.g. an agent the policy does not know): it may use nothing.
        if (err instanceof McpError) {
          sees = [];
          refused = err.message.replace(/^MCP error -?\d+: /, '');
        } else unreachable = err instanceof Error ? err.message : String(err);
      }
    }
    const asks = sees?.filter((name) => d.tools.some((pattern) => matchesPattern(pattern, name)));
    agents.push({
      name: d.name,
      roles: d.roles,
      description: d.description,
      models: d.models.map((m) => `${m.provider}/${m.model}`),
      tools: d.tools,
      budgets: d.budgets,
      source: d.source,
      ...(sees === undefined ? {} : { granted: sees, usable: asks }),
      ...(refused === undefined ? {} : { refused }),
    });
  }
  if (s.parsed.values.json === true) io.out(json({ gateway: url, ...(unreachable === undefined ? {} : { unreachable }), agents }));
  else {
    for (const a of agents) {
      io.out(`${a.name} (${a.roles.join(', ')}): ${sanitizeText(a.description)}\n`);
      io.out(`  models: ${a.models.join(' -> ')}\n  budgets: ${a.budgets.turns} turns, ${a.budgets.tokens} tokens, ${a.budgets.wall_clock_s} s\n`);
      io.out(`  asks for: ${a.tools.length === 0 ? 'no tools' : a.tools.join(', ')}\n`);
      if (a.granted !== undefined) {
        const listed = a.refused === undefined ? (a.granted.length === 0 ? 'no tools' : a.granted.join(', ')) : `nothing, it refuses the identity: ${sanitizeText(a.refused)}`;
        io.out(`  the gateway lists to spiffe://${s.config.tls.trust_domain}/agent/${a.name}: ${listed}\n`);
        io.out(`  so it may call: ${a.usable?.length ? a.usable.join(', ') : 'nothing'} (each call still decided by the policy: arguments, holds, rate limits)\n`);
      }
    }
  }
  if (unreachable === undefined) return 0;
  io.err(`portcullis agents: grants unknown, the gateway at ${url} did not answer: ${sanitizeText(unreachable)}\n`);
  return 1;
}

/** Draws the view: redrawn in place on a terminal (every 200 ms, for elapsed times), else a line per change. */
function liveView(io: Io, current: () => RunView | undefined): { show: (view: RunView) => void; stop: () => void } {
  let latest: RunView | undefined;
  let shown: RunView | undefined;
  let drawn = 0;
  const draw = (): void => {
    const view = current() ?? latest;
    if (view === undefined) return;
    const lines = viewLines(view);
    io.out(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((line) => `\x1b[2K${line}\n`).join('')}`);
    drawn = lines.length;
  };
  const timer = io.isTTY ? setInterval(draw, 200) : undefined;
  return {
    show: (view) => {
      if (!io.isTTY) for (const line of changeLines(shown, view)) io.out(`${line}\n`);
      shown = view;
      latest = view;
    },
    stop: () => {
      if (timer === undefined) return;
      clearInterval(timer);
      draw();
    },
  };
}

/** The SIGINT of this process as a signal, for as long as a run goes. */
function ctrlC(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const handler = (): void => controller.abort();
  process.once('SIGINT', handler);
  return { signal: controller.signal, release: () => process.off('SIGINT', handler) };
}

async function runTask(args: string[], io: Io): Promise<number> {
  const s = setting(args);
  const [agent, task, ...extra] = s.parsed.positionals;
  if (agent === undefined || task === undefined || extra.length > 0) throw new UsageError('expected <agent> "<task>"');
  if (task.trim() === '') throw new UsageError('the task is empty');
  const url = gatewayUrl(s, io.env);
  const host = runHost(s.config, { url: () => url, ca: gatewayCa(s), consoleUrl: s.config.holds.console_url }, io.env);
  const refused = host.refusal(agent);
  if (refused !== undefined) {
    const hint = refused.reason === 'no-provider' ? '\nKeys come only from the environment or files; providers, base URLs and key files are set under orchestrator.providers (docs/agents.md).' : '';
    io.err(`portcullis agents: ${sanitizeText(refused.message, { maxLength: 4000 })}${hint}\n`);
    return 2;
  }
  let id: string | undefined;
  const view = liveView(io, () => (id === undefined ? undefined : host.view(id)));
  const interrupt = io.interrupt === undefined ? ctrlC() : { signal: io.interrupt, release: () => undefined };
  const started = host.start(agent, task, { onChange: (v) => view.show(v) });
  id = started.id;
  const cancel = (): void => {
    io.err('portcullis agents: cancelling the run (Ctrl-C)\n');
    host.cancel(started.id, 'Ctrl-C');
  };
  if (interrupt.signal.aborted) cancel();
  else interrupt.signal.addEventListener('abort', cancel, { once: true });
  let result: RunView;
  try {
    result = await started.done;
  } finally {
    interrupt.signal.removeEventListener('abort', cancel);
    interrupt.release();
    view.stop();
  }
  if (s.parsed.values.json === true) io.out(json(result));
  else if (result.answer !== undefined) io.out(`\n${sanitizeText(result.answer, { maxLength: 100_000 })}\n`);
  io.err(`portcullis agents: run ${result.id} ${result.status}${result.error === undefined ? '' : `: ${sanitizeText(result.error)}`}; transcript ${transcriptFile(runsDir(s.config), result.id)}\n`);
  return result.status === 'done' ? 0 : result.status === 'cancelled' ? 130 : 1;
}

function runs(args: string[], io: Io): number {
  const s = setting(args);
  if (s.parsed.positionals.length > 0) throw new UsageError('runs takes no arguments');
  const limitText = stringOption(s.parsed, 'limit') ?? '20';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  const history = runHistory(runsDir(s.config), limit);
  if (s.parsed.values.json === true) io.out(json(history));
  else io.out(history.length === 0 ? `no runs in ${runsDir(s.config)}\n` : `${history.map(historyLine).join('\n')}\n`);
  return 0;
}

function show(args: string[], io: Io): number {
  const s = setting(args);
  const [id, ...extra] = s.parsed.positionals;
  if (id === undefined || extra.length > 0) throw new UsageError('expected a run id (portcullis agents runs lists them)');
  if (!RUN_ID.test(id)) throw new UsageError(`"${sanitizeText(id, { maxLength: 80 })}" is not a run id (like 20250102T030405Z-1a2b3c)`);
  const entries = readTranscript(runsDir(s.config), id);
  if (entries === undefined) {
    io.err(`portcullis agents: no run ${id} in ${runsDir(s.config)}\n`);
    return 1;
  }
  if (s.parsed.values.json === true) io.out(json(entries));
  else io.out(`${entries.flatMap(entryLines).join('\n')}\n`);
  return 0;
}

export async function run(args: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'list':
      return list(rest, io);
    case 'run':
      return runTask(rest, io);
    case 'runs':
      return runs(rest, io);
    case 'show':
      return show(rest, io);
    default:
      throw new UsageError(command === undefined ? `missing command\n${USAGE}` : `unknown command "${sanitizeText(command, { maxLength: 80 })}"\n${USAGE}`);
  }
}
