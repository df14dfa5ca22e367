// `npm run bench`: runs the compiled bench (dist/bench/run.js, built by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/bench/run.js', import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write(`bench: ${compiled} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
await import(pathToFileURL(compiled).href);
