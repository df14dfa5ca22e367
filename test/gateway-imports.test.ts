/**
 * Where code may reach: every relative import in gateway/ runs downward
 * through the rooms' layers, fastify stays at the edge, and the policy
 * toolchain imports nothing from the rest of the gateway.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ROOT } from './fixtures/gateway-harness.js';

const GATEWAY = path.join(ROOT, 'gateway');

/**
 * Lower layers never import higher ones; rooms of one layer never import
 * each other. A new room must be placed here before it can be imported.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['util', 'errors.ts'],
  ['protocol', 'policy', 'sanitize'],
  ['client'], // the public client API (`portcullis/client`) first-party agents use: nothing of the gateway's own rooms
  ['bridge'], // the client-side bridge (`portcullis connect`): below the gateway's own rooms, so it cannot depend on them
  ['state'], // state replicas share (Redis): below every control that shares it through a narrow interface
  ['metrics', 'pinning', 'audit', 'validate', 'ratelimit', 'pki'],
  ['identity', 'holds', 'upstreams'],
  ['config'],
  ['pipeline', 'evidence'], // evidence: what compliance reporters read (audit verified, config, policy, PKI, holds, pins)
  ['mcp'],
  ['edge'],
  ['orchestrator', 'reports'], // host the built-in orchestrator and the compliance reporters (agents/): with cli, the only rooms that may import agents/
  ['server.ts'],
  ['cli', 'index.ts'],
];

const layerOf = new Map<string, number>();
LAYERS.forEach((rooms, layer) => rooms.forEach((room) => layerOf.set(room, layer)));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'assembly' ? [] : sources(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** The top-level room of a file under gateway/: its folder, or the file itself. */
function roomOf(file: string): string {
  return path.relative(GATEWAY, file).split(path.sep)[0] as string;
}

/** Rooms that host first-party agents and so may import agents/ (which itself reaches only gateway/client). */
const HOSTS = new Set(['orchestrator', 'reports', 'cli']);
const AGENTS = path.join(ROOT, 'agents') + path.sep;

interface Import {
  from: string;
  to: string;
  specifier: string;
}

const IMPORT = /^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => {
    const specifier = m[1] as string;
    const to = specifier.startsWith('.') ? path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts') : specifier;
    return { from: file, to, specifier };
  });
}

const files = sources(GATEWAY);
const imports = files.flatMap(importsOf);
const where = (i: Import): string => `${path.relative(ROOT, i.from)} imports ${i.specifier}`;

t.test('every room of gateway/ has a layer', async (t) => {
  const rooms = new Set(files.map(roomOf));
  t.same([...rooms].filter((room) => !layerOf.has(room)), [], 'rooms without a layer');
  t.ok(imports.length > 500, `read ${imports.length} imports in ${files.length} files`);
});

t.test('imports run downward', async (t) => {
  const upward = imports.filter((i) => {
    if (!i.specifier.startsWith('.')) return false;
    const from = roomOf(i.from);
    const to = roomOf(i.to);
    if (i.to.startsWith(AGENTS)) return !HOSTS.has(from);
    return from !== to && (layerOf.get(to) ?? Infinity) >= (layerOf.get(from) ?? -Infinity);
  });
  t.same(upward.map(where), [], 'imports that reach a room of the same or a higher layer');
});

t.test('fastify only at the edge', async (t) => {
  const outside = imports.filter((i) => /^(?:fastify|@fastify\/)/.test(i.specifier) && roomOf(i.from) !== 'edge' && roomOf(i.from) !== 'server.ts');
  t.same(outside.map(where), []);
  t.ok(imports.some((i) => i.specifier === 'fastify' && roomOf(i.from) === 'edge'), 'the edge does use fastify');
});

t.test('the policy toolchain stands alone', async (t) => {
  const policy = path.join(GATEWAY, 'policy');
  const leaving = imports.filter((i) => i.from.startsWith(policy + path.sep) && i.specifier.startsWith('.') && !i.to.startsWith(policy + path.sep));
  t.same(leaving.map(where), [], 'gateway/policy imports nothing from the rest of the gateway');
  const compiler = path.join(policy, 'compiler');
  const below = ['wasm', 'engine', 'bundle'].map((room) => path.join(policy, room) + path.sep);
  const up = imports.filter((i) => i.from.startsWith(compiler + path.sep) && below.some((room) => i.to.startsWith(room)));
  t.same(up.map(where), [], 'the compiler does not import the runtime linker, the engine or bundles');
  const rego = path.join(policy, 'rego') + path.sep;
  const parser = imports.filter((i) => i.from.startsWith(rego) && i.specifier.startsWith('.') && !i.to.startsWith(rego));
  t.same(parser.map(where), [], 'the Rego parser imports nothing else');
});

t.test('the public client API stands on protocol, sanitize, util and errors only', async (t) => {
  const allowed = ['util', 'errors.ts', 'protocol', 'sanitize'];
  const client = imports.filter((i) => roomOf(i.from) === 'client' && i.specifier.startsWith('.') && roomOf(i.to) !== 'client');
  t.same(client.filter((i) => !allowed.includes(roomOf(i.to))).map(where), [], 'gateway/client imports nothing else of the gateway');
});

t.test('first-party agents import nothing of the gateway but its public client API', async (t) => {
  const agents = path.join(ROOT, 'agents');
  const agentImports = sources(agents).flatMap(importsOf);
  const clientApi = path.join(GATEWAY, 'client') + path.sep;
  const reaching = agentImports.filter((i) => {
    if (i.specifier.startsWith('.')) return !i.to.startsWith(agents + path.sep) && !i.to.startsWith(clientApi);
    // The package's own exports: only ./client.
    return /^portcullis(?:\/|$)/.test(i.specifier) && i.specifier !== 'portcullis/client';
  });
  t.same(reaching.map(where), [], 'agents/ reaches gateway/ only through gateway/client/');
  t.ok(agentImports.some((i) => i.to.startsWith(clientApi)), 'agents/ does use the client API');
});
