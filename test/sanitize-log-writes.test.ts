/**
 * Every log line of the gateway goes through the sanitizing logger
 * (edge/logger.ts): no module writes to stderr or stdout itself, where a
 * control sequence, a forged line or a secret would pass unchecked. Only the
 * command line (gateway/cli) prints to the terminal, through sanitizeText.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RAW_WRITE = /process\.(?:stderr|stdout)\.write|console\.(?:log|info|warn|error|debug)\s*\(/;

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

t.test('no gateway module outside the CLI writes to stderr or stdout itself', async (t) => {
  const gateway = path.join(ROOT, 'gateway');
  const cli = path.join(gateway, 'cli') + path.sep;
  const offenders = sourcesUnder(gateway)
    .filter((file) => !file.startsWith(cli))
    .filter((file) => RAW_WRITE.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(ROOT, file));
  t.same(offenders, []);
});
