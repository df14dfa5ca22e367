#!/usr/bin/env node
/** The `portcullis` command: dispatches to one module per subcommand, loaded on demand. */
import { UsageError } from './args.js';
import { ConfigError } from '../config/load.js';

const USAGE = `usage: portcullis <command> [options]
commands:
  start [--config portcullis.yaml]        run the gateway
  certs init | issue <agent> | revoke <agent|serial>
  token issue <agent> [--ttl seconds] | revoke <agent|jti>
  policy ...                              build, test and sign policies
  audit ...                               verify and query the audit trail
  holds ...                               review calls held for approval`;

type Runner = (args: string[]) => Promise<number>;

/**
 * Subcommand modules. policy/audit/holds are contributed by other modules and
 * may be absent from a build: their specifiers are computed so the compiler
 * does not require them, and a missing one is reported below.
 */
const COMMANDS: Record<string, () => Promise<{ run: Runner }>> = {
  start: () => import('./start.js'),
  certs: () => import('./certs.js'),
  token: () => import('./token.js'),
  policy: () => import('./' + 'policy.js'),
  audit: () => import('./' + 'audit.js'),
  holds: () => import('./' + 'holds.js'),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const load = COMMANDS[command];
  if (load === undefined) {
    process.stderr.write(`portcullis: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  let module: { run: Runner };
  try {
    module = await load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(`cli/${command}.js`)) {
      process.stderr.write(`portcullis: the "${command}" command is not available in this build\n`);
      return 2;
    }
    throw err;
  }
  return module.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`portcullis: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
