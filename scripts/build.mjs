// Build everything a user runs: TypeScript to dist/, then the policy
// runtime (AssemblyScript to WebAssembly). Runs on `npm ci` through `prepare`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
const runtimeBuild = path.join(root, 'scripts/build-runtime.mjs');
if (existsSync(runtimeBuild)) run(process.execPath, [runtimeBuild]);
