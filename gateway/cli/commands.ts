/**
 * What `portcullis <command> ...` does, apart from the process around it
 * (main.ts): finds the command's module, answers `--help` for every command
 * and subcommand with the command's usage, and reports usage errors.
 */
import { ConfigError } from '../config/load.js';
import { sanitizeText } from '../sanitize/text.js';
import { UsageError } from './args.js';

export const USAGE = `usage: portcullis <command> [options]     (portcullis <command> --help: its usage)
commands:
  start [--config portcullis.yaml]        run the gateway
  certs init | issue <agent> | revoke <agent|serial>
  token issue <agent> [--ttl seconds] | revoke <agent|jti>
  policy ...                              build, test and sign policies
  audit ...                               verify and query the audit trail
  holds ...                               review calls held for approval
  agents list | run | runs | show         the built-in orchestrator: definitions, runs, transcripts
  connect <gateway-url> --agent <name> [--listen 127.0.0.1:PORT]
                                          a local bridge holding an agent's identity for any MCP client
  client-config <agent> --for <client>    the configuration snippet for an MCP client
  report <framework|all> | verify <file>  compliance reports from the gateway's evidence, signed`;

/** A command module: its runner and the usage `--help` prints. */
interface CommandModule {
  run: (args: string[]) => Promise<number>;
  USAGE: string;
}

/** Loaded on demand: `portcullis audit` does not load the gateway. */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  start: () => import('./start.js'),
  certs: () => import('./certs.js'),
  token: () => import('./token.js'),
  policy: () => import('./policy.js'),
  audit: () => import('./audit.js'),
  holds: () => import('./holds.js'),
  agents: () => import('./agents.js'),
  connect: () => import('./connect.js'),
  'client-config': () => import('./client-config.js'),
  report: () => import('./report.js'),
};

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const HELP = new Set(['--help', '-h']);

/** `--help` or `-h` anywhere before a `--` (after it, arguments are taken as they are). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => HELP.has(arg));
}

/** Arguments are echoed into error messages: keep the terminal inert (line by line: usages span lines). */
function safe(text: string): string {
  return text.split('\n').map((line) => sanitizeText(line, { maxLength: 2000 })).join('\n');
}

/** Runs one command line; resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || HELP.has(command) || command === 'help') {
    io.out(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (load === undefined) {
    io.err(`portcullis: unknown command "${safe(command)}"\n${USAGE}\n`);
    return 2;
  }
  try {
    const module = await load();
    if (asksForHelp(rest)) {
      io.out(`${module.USAGE}\n`);
      return 0;
    }
    return await module.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.err(`portcullis: ${safe(err.message)}\n`);
      return 2;
    }
    io.err(`portcullis: ${safe(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  }
}
