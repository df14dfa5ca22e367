/**
 * Seeded inputs for the default capability policy (policies/): known and
 * unknown agents, servers, tools and methods; tool, prompt and resource names
 * that are not strings or missing; hostile paths (traversal, `%` encodings,
 * NUL, backslashes, dot-only segments, lookalike dots, slashes and percent
 * signs, invisible, control and separator characters) and URLs (every way of
 * writing loopback, private and metadata addresses, userinfo tricks, ports);
 * secrets for outbound tools (in the arguments, and as the detector names the
 * gateway reports in message.secrets); flagged tool definitions; malformed arguments.
 * Shapes follow gateway/policy/decision.ts and policies/*_test.rego.
 */
import type { Random } from './opa-reference-random.js';

// The orchestrator's agents (agents/definitions) too: each has least-privilege grants of its own.
const AGENTS = ['demo', 'orchestrator', 'spec', 'coder', 'tester', 'reviewer', 'researcher', 'reporter-1', 'reporter-2', 'reporter-7', 'reporter-', 'mallory', '', 'DEMO', 'demo ', 'reporter-*'];
const SERVERS = ['filesystem', 'everything', '*', 'shell', 'nope', ''];
const HOUSEKEEPING = ['initialize', 'ping', 'notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/roots/list_changed'];
const SERVER_METHODS = [
  'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'tools/call', 'resources/read',
  'resources/subscribe', 'resources/unsubscribe', 'prompts/get', 'completion/complete', 'logging/setLevel',
];
const OTHER_METHODS = ['sampling/createMessage', 'notifications/whatever', 'TOOLS/CALL', 'tools/call ', 'roots/list', ''];
const TOOLS: Record<string, string[]> = {
  filesystem: [
    'read_text_file', 'read_file', 'read_media_file', 'read_multiple_files', 'write_file', 'edit_file', 'move_file',
    'create_directory', 'list_directory', 'directory_tree', 'search_files', 'get_file_info', 'list_allowed_directories',
  ],
  everything: [
    'echo', 'get-sum', 'get-tiny-image', 'get-env', 'gzip-file-as-resource', 'trigger-sampling-request',
    'trigger-sampling-request-async', 'trigger-long-running-operation', 'toggle-simulated-logging', 'toggle-subscriber-updates',
  ],
};
const OTHER_TOOLS = ['exec', 'read_*', '', 'ECHO'];
const OUTBOUND_TOOLS = new Set(['gzip-file-as-resource', 'trigger-sampling-request', 'trigger-sampling-request-async']);
const PATH_ARGUMENTS = ['path', 'paths', 'source', 'destination'];

const PATHS = [
  '/tmp/portcullis-sandbox', '/tmp/portcullis-sandbox/a.txt', '/tmp/portcullis-sandbox/./a//b.txt', '/tmp/portcullis-sandbox/a/.',
  '/tmp/portcullis-sandbox/../../etc/passwd', '/tmp/portcullis-sandbox/a/..', '/tmp/portcullis-sandbox/%2e%2e/%2e%2e/etc/passwd',
  '/tmp/portcullis-sandbox/%2E%2E%2Fetc', '/tmp/portcullis-sandbox/..%2fetc', '/tmp/portcullis-sandbox/a\\..\\..\\etc',
  '/tmp/portcullis-sandbox/a.txt\u0000.png', '/tmp/portcullis-sandbox/...', '/tmp/portcullis-sandbox/..a/b', '/tmp/portcullis-sandbox/.hidden',
  '/tmp/portcullis-sandbox/\u00e9t\u00e9/\u65e5\u672c.txt', '/tmp/portcullis-sandbox/a\tb', '/tmp/portcullis-sandbox-evil/a.txt',
  '//tmp/portcullis-sandbox/a', '/opt/portcullis/var/sandbox/report.md', '/work/main/var/sandbox', '/work/main/var/sandboxx/a',
  '/work/main/xvar/sandbox/a', '/var/sandbox/a', '/var/sandbox/../../etc/passwd', '/a/var/sandbox/b/../../../etc', '/etc/passwd',
  '/', '', 'notes/a.txt', '~/secrets', './tmp/portcullis-sandbox/a', '/tmp/portcullis-sandbox/a\u007f', '/TMP/portcullis-sandbox/a',
  // Dot-only segments, lookalike dots (NFKC makes them dots), invisible, control, separator and lookalike characters.
  '/tmp/portcullis-sandbox/....//....//etc/passwd', '/tmp/portcullis-sandbox/..../etc', '/tmp/portcullis-sandbox/a/.../b',
  '/tmp/portcullis-sandbox/\uff0e\uff0e/etc/passwd', '/tmp/portcullis-sandbox/\u2024\u2024/etc', '/tmp/portcullis-sandbox/\u2025/etc',
  '/tmp/portcullis-sandbox/\u2026', '/tmp/portcullis-sandbox/\ufe52\ufe52/x', '/tmp/portcullis-sandbox/\ufe19', '/tmp/portcullis-sandbox/.\uff0e/x',
  '/tmp/portcullis-sandbox/a\uff0etxt', '/tmp/portcullis-sandbox/\u2025a', '/tmp/portcullis-sandbox/.\u200b./etc', '/tmp/portcullis-sandbox/.\u200d./etc',
  '/tmp/portcullis-sandbox/\ufeff../etc', '/tmp/portcullis-sandbox/a\u0085b', '/tmp/portcullis-sandbox/a\u009f', '/tmp/portcullis-sandbox/a\u2028b',
  '/tmp/portcullis-sandbox/a\u2029b', '/tmp/portcullis-sandbox/a\u202eb', '/tmp/portcullis-sandbox/a\u2066b', '/tmp/portcullis-sandbox/a\u00adb',
  '/tmp/portcullis-sandbox/a\u00a0b', '/tmp/portcullis-sandbox/a\u3000b', '/tmp/portcullis-sandbox/a b', '/tmp/portcullis-sandbox/a\ufe0fb',
  '/tmp/portcullis-sandbox/a\u{e0041}b', '/tmp/portcullis-sandbox/a\u{1f600}b', '/tmp/portcullis-sandbox/..\uff0fetc', '/tmp/portcullis-sandbox/a\u2100b',
  '/tmp/portcullis-sandbox/..\uff3cetc', '/tmp/portcullis-sandbox/\uff052e', '/tmp/portcullis-sandbox/\u2215etc', '/work/main/var/sandbox/\u2025/x',
];
const PATH_SEGMENTS = [
  'tmp', 'portcullis-sandbox', 'var', 'sandbox', 'work', 'etc', 'passwd', '..', '.', '', '%2e%2e', '..%2f', 'a.txt', '.x', 'x\\y', '\u0000',
  '...', '....', '\uff0e\uff0e', '\u2025', '.\u2024', '\uff0e', '.\u200b.', 'a\u0085', 'a\u2028', '\u00a0', '\u00e9t\u00e9', 'a\uff0eb',
];

const SCHEMES = ['https', 'https', 'https', 'http', 'HTTPS', 'file', 'ftp', '', 'h-t+p.s', '1https'];
const HOSTS = [
  'raw.githubusercontent.com', 'RAW.GitHubUserContent.com', 'files.example.com', 'a.b.example.com', 'example.com', 'evil.test',
  '1.1.1.1', 'example.org.', '[2606:4700::1111]', '[2606:4700::1111]:443', '8.8.8.8',
  '127.0.0.1', '127.0.0.1:8443', '2130706433', '0x7f000001', '0x7F.0.0.1', '0177.0.0.1', '017700000001', '127.1', '127.0.1',
  '127.0.0.1.', '0', '0.0.0.0', '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::]',
  'localhost', 'LOCALHOST.', 'app.localhost', 'printer.local', 'db.svc', 'metadata', 'metadata.google.internal', 'instance-data',
  '10.0.0.1', '172.16.5.4', '172.32.0.1', '192.168.1.1', '169.254.169.254', '0xa9fea9fe', '0251.0376.0251.0376', '[fe80::1]',
  '[fd00:ec2::254]', '100.100.100.200', '100.64.0.1', '[::ffff:169.254.169.254]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]',
  '%31%32%37.0.0.1', '1.2.3.4.5', '256.0.0.1', '1.2.3.08', '1.2.3.0x', 'foo.0x10', '0x', '4294967295', '4294967296',
  '0x100000000', '00000000000000000000001', '[fe80::1%25eth0]', ' example.org', '', 'user@raw.githubusercontent.com',
  'raw.githubusercontent.com@169.254.169.254', 'evil.test\\@raw.githubusercontent.com', 'raw.githubusercontent.com%2f@evil.test',
  'raw.githubusercontent.com:443', 'raw.githubusercontent.com:99999', 'raw.githubusercontent.com:', 'raw.githubusercontent.com:1:2',
  '[::1', 'a..b.example.com', '.example.com', 'xn--80ak6aa92e.example.com', '\u0440aw.githubusercontent.com',
];
const URL_TAILS = ['/', '/x', '/latest/meta-data/', '?q=1', '#frag', '', '/a b', '/%2e%2e/'];

const SECRETS = [
  { key: 'note', value: 'AKIAABCDEFGHIJKLMNOP' },
  { key: 'token', value: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' },
  { key: 'password', value: 'hunter22' },
  { key: 'api_key', value: 'abc' },
  { key: 'note', value: 'sk-aaaaaaaaaaaaaaaaaaaaaaaa' },
  { key: 'Client_Secret', value: 'xyzw1234' },
  { key: 'note', value: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz' },
  { key: 'note', value: 'nothing to see' },
];
const FLAGS = [[], [], ['hidden-instructions'], ['BAD FLAG'], ['a', 'hidden-instructions'], [''], [7]];

function randomPath(r: Random): string {
  if (r.chance(0.7)) return r.pick(PATHS);
  const segments = r.several(PATH_SEGMENTS, 1 + r.int(5));
  return `${r.chance(0.9) ? '/' : ''}${segments.join('/')}`;
}

function randomUrl(r: Random): string {
  const host = r.pick(HOSTS);
  const tail = r.pick(URL_TAILS);
  if (r.chance(0.05)) return `${host}${tail}`;
  return `${r.pick(SCHEMES)}${r.chance(0.05) ? ':/' : '://'}${host}${tail}`;
}

/** A path-like argument value: usually a string, sometimes a list or a wrong type. */
function pathValue(r: Random, name: string): unknown {
  if (r.chance(0.08)) return r.pick([{ nested: randomPath(r) }, 7, null, true]);
  if (name === 'paths' || r.chance(0.1)) return Array.from({ length: r.int(4) }, () => (r.chance(0.05) ? 1 : randomPath(r)));
  return randomPath(r);
}

function toolArguments(r: Random, server: string, tool: string): unknown {
  if (r.chance(0.1)) return r.pick([['/tmp/portcullis-sandbox/a'], 'x', null, 3]);
  const args: Record<string, unknown> = {};
  if (server === 'filesystem') {
    const names = tool === 'move_file' ? ['source', 'destination'] : tool === 'read_multiple_files' ? ['paths'] : [r.pick(PATH_ARGUMENTS)];
    for (const name of names) if (r.chance(0.95)) args[name] = pathValue(r, name);
    if (tool.startsWith('write') || tool.startsWith('edit')) args.content = 'x';
  } else {
    if (tool === 'gzip-file-as-resource' || r.chance(0.2)) {
      args.name = 'a.gz';
      args.data = r.chance(0.08) ? [randomUrl(r), randomUrl(r)] : randomUrl(r);
    }
    if (tool === 'echo') args.message = 'hi';
  }
  // Secrets matter most in the arguments of tools that send data out.
  if (r.chance(OUTBOUND_TOOLS.has(tool) ? 0.6 : 0.25)) {
    const secret = r.pick(SECRETS);
    args[secret.key] = secret.value;
  }
  return args;
}

/** Values of the wrong type for a name the policy checks against grants (a "*" grant must not take them). */
const NOT_STRINGS: unknown[] = [5, 1.5, ['echo'], { name: 'echo' }, false, true, null];

/** `fields` with `name` set to `value`, or left out when `value` is ABSENT. */
const ABSENT = Symbol('absent');
function withField(fields: Record<string, unknown>, name: string, value: unknown): Record<string, unknown> {
  return value === ABSENT ? fields : { ...fields, [name]: value };
}

/** input.message.secrets as the gateway sets it (detector names, absent when none), and shapes it never sends. */
const FOUND_SECRETS: unknown[] = [['pem-private-key'], ['generic-credential', 'jwt'], ['url-password'], [], [7], 'jwt'];

function foundSecrets(r: Random): { secrets?: unknown } {
  return r.chance(0.3) ? { secrets: r.pick(FOUND_SECRETS) } : {};
}

function message(r: Random): Record<string, unknown> {
  const server = r.pick(SERVERS);
  const tools = TOOLS[server] ?? TOOLS[r.pick(['filesystem', 'everything'])]!;
  const tool = r.chance(0.9) ? r.pick(tools) : r.pick(OTHER_TOOLS);
  const roll = r.next();
  if (roll < 0.55) {
    const name = r.chance(0.05) ? r.pick([...NOT_STRINGS, ABSENT]) : tool;
    const call = { direction: 'request', kind: 'request', method: 'tools/call', server, arguments: toolArguments(r, server, tool), ...foundSecrets(r) };
    return withField(call, 'tool', name);
  }
  if (roll < 0.65) {
    const name = r.chance(0.1) ? r.pick(NOT_STRINGS) : tool;
    return { direction: 'request', kind: 'request', method: 'tools/list', server, tool: name, listing: true };
  }
  if (roll < 0.72) return { direction: 'response', kind: r.pick(['result', 'error', 'request']), method: r.pick(['tools/call', 'sampling/createMessage']), server, tool };
  if (roll < 0.77) {
    const uri = r.chance(0.7)
      ? r.pick(['demo://resource/static/document/architecture.md', 'file:///tmp/portcullis-sandbox/a', 'http://x/'])
      : r.pick([...NOT_STRINGS, ['file:///tmp/portcullis-sandbox/a'], ABSENT]);
    const method = r.pick(['resources/read', 'resources/read', 'resources/subscribe', 'resources/unsubscribe']);
    return withField({ direction: 'request', kind: 'request', method, server }, 'uri', uri);
  }
  if (roll < 0.82) {
    const prompt = r.chance(0.7) ? r.pick(['simple-prompt', 'complex-prompt', '']) : r.pick([...NOT_STRINGS, ['simple-prompt'], ABSENT]);
    return withField({ direction: 'request', kind: 'request', method: 'prompts/get', server }, 'prompt', prompt);
  }
  const method = r.pick([...HOUSEKEEPING, ...SERVER_METHODS, ...OTHER_METHODS]);
  return { direction: 'request', kind: method.startsWith('notifications/') ? 'notification' : 'request', method, server };
}

/** One policy input document. */
export function policyInput(r: Random): Record<string, unknown> {
  const name = r.pick(AGENTS);
  const input: Record<string, unknown> = {
    agent: { id: `spiffe://portcullis.local/agent/${name}`, name, auth: r.pick(['mtls', 'jwt']), roles: r.chance(0.2) ? ['approver'] : [] },
    message: message(r),
    context: { time_ns: r.int(1_000_000) },
  };
  if (r.chance(0.3)) input.tool = { definition_hash: '00', annotations: {}, flags: r.pick(FLAGS) };
  return input;
}

/** A known agent's call of the URL tool with each host above, to hold with data that allows every host. */
export function urlInputs(): Array<Record<string, unknown>> {
  return HOSTS.map((host) => ({
    agent: { id: 'spiffe://portcullis.local/agent/demo', name: 'demo', auth: 'mtls', roles: [] },
    message: {
      direction: 'request', kind: 'request', method: 'tools/call', server: 'everything', tool: 'gzip-file-as-resource',
      arguments: { name: 'a.gz', data: `https://${host}/` },
    },
    context: { time_ns: 0 },
  }));
}

/**
 * Variants of the policy's data: as shipped; with narrowed grant roots and
 * hosts; and with every host allowed, so that only the address rules can
 * refuse a URL.
 */
export function dataVariants(shipped: { capabilities: Record<string, unknown> }): Array<Record<string, unknown>> {
  const narrowed = structuredClone(shipped) as { capabilities: { agents: Record<string, { grants: Record<string, Record<string, unknown>> }> } };
  const demo = narrowed.capabilities.agents.demo;
  if (demo?.grants.filesystem) demo.grants.filesystem.roots = ['/tmp/portcullis-sandbox/public/'];
  if (demo?.grants.everything) demo.grants.everything.allowed_hosts = ['*.example.com'];
  const open = structuredClone(shipped) as { capabilities: { servers: Record<string, { tools: Record<string, Record<string, unknown>> }> } };
  const gzip = open.capabilities.servers.everything?.tools['gzip-file-as-resource'];
  if (gzip) gzip.allowed_hosts = ['**'];
  return [shipped, narrowed, open];
}
