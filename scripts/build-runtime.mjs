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
  // No shadow stack: it only serves a tracing GC, and the bump allocator never
  // collects. asc gives every runtime but its own stub/minimal ones a default
  // stack when the size is 0, so the config sets it negative (off). Without it,
  // calls touching references skip a stack spill and become small enough to
  // inline (a tools/call decision went from ~100 to ~45 µs).
  '--config', `${src}/asconfig.json`,
  '-o', out,
], { cwd: root, stdio: 'inherit' });
