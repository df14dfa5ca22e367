// Build everything a user runs: the policy runtime (AssemblyScript to
// WebAssembly) first, so a TypeScript error elsewhere cannot leave it
// missing, then TypeScript to dist/. Runs on `npm ci` through `prepare`.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(process.execPath, [path.join(root, 'scripts/build-runtime.mjs')]);
run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
