#!/usr/bin/env node
/** The `portcullis` command: runs one command line (commands.ts) and exits with its code. */
import { runCli } from './commands.js';

const stdio = {
  out: (text: string) => process.stdout.write(text),
  err: (text: string) => process.stderr.write(text),
};

void runCli(process.argv.slice(2), stdio).then((code) => {
  process.exitCode = code;
});
