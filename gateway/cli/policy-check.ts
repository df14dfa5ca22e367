/**
 * `portcullis policy check [paths...] [--strict]`: parses every Rego file and
 * compiles them together (each folder as one policy, tests included), like
 * `opa check`, `# METADATA` blocks included. Every problem is one line `file:line:col: code: detail`;
 * exit 1 when there is any. `--strict` adds OPA's strict-mode checks
 * (gateway/policy/strict.ts).
 */
import { readFileSync } from 'node:fs';
import { planModules } from '../policy/compiler/planner.js';
import { RegoError } from '../policy/rego/ast.js';
import type { Module } from '../policy/rego/ast.js';
import { parseModule } from '../policy/rego/parser.js';
import { moduleAnnotations } from '../policy/rego/annotations.js';
import { strictViolations } from '../policy/strict.js';
import { parse } from './args.js';
import { regoFiles } from './policy-files.js';
import type { Io } from './policy.js';

export async function check(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, [], ['strict']);
  const problems: RegoError[] = [];
  const modules: Module[] = [];
  const files = regoFiles(positionals);
  for (const file of files) {
    try {
      const module = parseModule(readFileSync(file, 'utf8'), file);
      moduleAnnotations(module); // a malformed `# METADATA` block is a parse error, as in OPA
      modules.push(module);
    } catch (err) {
      if (!(err instanceof RegoError)) throw err;
      problems.push(err);
    }
  }
  // Strict checks read the tree as written: before compiling rewrites any of it.
  const parsed = problems.length === 0;
  if (values.strict === true) problems.push(...strictViolations(modules));
  if (parsed) {
    try {
      planModules(modules, []);
    } catch (err) {
      if (!(err instanceof RegoError)) throw err;
      problems.push(err);
    }
  }
  for (const p of problems) io.stderr(`${p.message}\n`);
  io.stdout(problems.length === 0 ? `${files.length} file${files.length === 1 ? '' : 's'} checked, no problems\n` : `${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
  return problems.length === 0 ? 0 : 1;
}
