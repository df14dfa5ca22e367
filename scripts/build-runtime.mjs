// Compiles the policy runtime (AssemblyScript, gateway/policy/wasm/assembly)
// into dist/gateway/policy/wasm/runtime.wasm. Called by scripts/build.mjs.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = 'gateway/policy/wasm/assembly';
const out = path.join(root, 'dist/gateway/policy/wasm/runtime.wasm');
mkdirSync(path.dirname(out), { recursive: true });

execFileSync(process.execPath, [
  path.join(root, 'node_modules/assemblyscript/bin/asc.js'),
  `${src}/index.ts`,
  // Our bump allocator: its pointer is the OPA heap pointer (see assembly/rt.ts).
  '--runtime', `./${src}/rt`,
  '--importMemory',
  // Compiler-level aborts (bounds checks, assertions) end in opa_abort.
  '--use', `abort=${src}/abort/runtimeAbort`,
  '-O3',
  '--noAssert',
  // The compiler's shadow stack (see assembly/index.ts): room for deep rule and function nesting.
  '--stackSize', '65536',
  '-o', out,
], { cwd: root, stdio: 'inherit' });
