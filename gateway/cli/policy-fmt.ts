/**
 * `portcullis policy fmt [paths...] [--check]`: canonical formatting of Rego
 * files (gateway/policy/rego/format.ts), like `opa fmt`.
 * - default: rewrites each file that is not formatted (atomically) and names it;
 * - --check: writes nothing, names the files that would change and exits 1
 *   when there is any (for CI).
 * A file that does not parse is reported with file:line:col (exit 1).
 */
import { readFileSync } from 'node:fs';
import { formatModule } from '../policy/rego/format.js';
import { RegoError } from '../policy/rego/ast.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { parse } from './args.js';
import { regoFiles } from './policy-files.js';
import type { Io } from './policy.js';

export async function fmt(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, [], ['check']);
  const check = values.check === true;
  let changed = 0;
  let failed = 0;
  for (const file of regoFiles(positionals)) {
    const source = readFileSync(file, 'utf8');
    let formatted: string;
    try {
      formatted = formatModule(source, file);
    } catch (err) {
      if (!(err instanceof RegoError)) throw err;
      io.stderr(`${err.message}\n`);
      failed++;
      continue;
    }
    if (formatted === source) continue;
    changed++;
    if (!check) writeFileAtomic(file, formatted);
    io.stdout(`${file}\n`);
  }
  if (check && changed > 0) io.stderr(`${changed} file${changed === 1 ? '' : 's'} not formatted: run portcullis policy fmt\n`);
  return failed > 0 || (check && changed > 0) ? 1 : 0;
}
