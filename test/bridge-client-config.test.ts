/**
 * `portcullis client-config`: the snippet for each client has the shape that
 * client reads (checked here; the desktop apps themselves cannot run in
 * tests), never contains a secret, and the `portcullis connect` command the
 * snippets launch really serves a stock stdio client through a gateway, its
 * identity resolved from the development PKI by --agent and --config.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLIENTS, snippet, TOKEN_VARIABLE } from '../gateway/cli/client-config.js';
import type { ClientName } from '../gateway/cli/client-config.js';
import { runCli } from '../gateway/cli/commands.js';
import { cliCommand } from './fixtures/bridge-harness.js';
import { startTestGateway, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

const URL_ = 'https://127.0.0.1:8443/mcp';
const CONFIG = '/etc/portcullis/portcullis.yaml';

/** The JSON document after the snippet's comment and command lines. */
function jsonOf(text: string): any {
  // parsed JSON of whatever shape the client reads; the assertions below check it
  return JSON.parse(text.slice(text.search(/^\{/m)));
}

t.test('connect snippets launch portcullis connect by absolute paths', async (t) => {
  const want = { command: process.execPath, args: [path.resolve('gateway/cli/main.ts'), 'connect', URL_, '--agent', 'demo', '--config', CONFIG] };
  const of = (client: ClientName): string => snippet({ client, agent: 'demo', url: URL_, via: 'connect', configFile: CONFIG });
  t.same(jsonOf(of('claude-desktop')), { mcpServers: { 'portcullis-demo': want } }, 'claude_desktop_config.json: mcpServers, command and args');
  t.same(jsonOf(of('cursor')), { mcpServers: { 'portcullis-demo': want } }, 'Cursor mcp.json: mcpServers, command and args');
  t.same(jsonOf(of('vscode')), { servers: { 'portcullis-demo': { type: 'stdio', ...want } } }, 'VS Code mcp.json: servers with type stdio');
  const code = of('claude-code');
  t.match(code, `claude mcp add --transport stdio portcullis-demo -- ${[want.command, ...want.args].join(' ')}\n`, 'claude mcp add with the command after --');
  t.same(jsonOf(code), { mcpServers: { 'portcullis-demo': { type: 'stdio', ...want } } }, '.mcp.json: mcpServers with type stdio');
  t.equal(of('inspector'), `npx @modelcontextprotocol/inspector --cli ${[want.command, ...want.args].join(' ')} --method tools/list\n`);
});

t.test('http snippets: a bearer header from the environment or a secret input, never a token', async (t) => {
  const of = (client: ClientName): string => snippet({ client, agent: 'demo', url: URL_, via: 'http', configFile: CONFIG });
  t.throws(() => of('claude-desktop'), /claude-desktop launches local commands only/);
  t.same(jsonOf(of('cursor')), { mcpServers: { 'portcullis-demo': { url: URL_, headers: { Authorization: `Bearer \${env:${TOKEN_VARIABLE}}` } } } });
  const vscode = jsonOf(of('vscode'));
  t.same(vscode.servers, { 'portcullis-demo': { type: 'http', url: URL_, headers: { Authorization: 'Bearer ${input:portcullis-token}' } } });
  t.match(vscode.inputs, [{ type: 'promptString', id: 'portcullis-token', password: true }], 'VS Code prompts for the token and keeps it secret');
  const code = of('claude-code');
  t.match(code, `claude mcp add --transport http portcullis-demo ${URL_} --header "Authorization: Bearer \${${TOKEN_VARIABLE}}"`);
  t.same(jsonOf(code), { mcpServers: { 'portcullis-demo': { type: 'http', url: URL_, headers: { Authorization: `Bearer \${${TOKEN_VARIABLE}}` } } } });
  t.match(of('inspector'), `--cli ${URL_} --transport http --header "Authorization: Bearer \${${TOKEN_VARIABLE}}" --method tools/list`);
  for (const client of CLIENTS.filter((c) => c !== 'claude-desktop')) t.notMatch(of(client), /eyJ/, `${client}: no token in the snippet`);
});

t.test('usage errors', async (t) => {
  const run = async (argv: string[]): Promise<{ code: number; err: string }> => {
    let err = '';
    const code = await runCli(argv, { out: () => undefined, err: (text) => (err += text) });
    return { code, err };
  };
  t.match(await run(['client-config', 'demo', '--for', 'emacs']), { code: 2, err: /--for takes one of: claude-desktop, claude-code, cursor, vscode, inspector/ });
  t.match(await run(['client-config', 'demo', '--for', 'claude-desktop', '--via', 'http', '--url', URL_]), { code: 2, err: /launches local commands only/ });
  t.match(await run(['client-config', '../x', '--for', 'cursor']), { code: 2, err: /usage: portcullis client-config/ });
});

t.test("the snippet's command serves a stdio client", async (t) => {
  const g = await startTestGateway(t);
  g.issue('demo');
  const configFile = path.join(g.dir, 'portcullis.yaml');
  writeFileSync(configFile, [`listen: { port: ${g.gateway.port} }`, `tls: { dir: certs, trust_domain: ${TRUST_DOMAIN} }`].join('\n'));
  const { mcpServers } = jsonOf(snippet({ client: 'claude-desktop', agent: 'demo', url: `${g.gateway.url}/mcp/everything`, via: 'connect', configFile }));
  const entry = mcpServers['portcullis-demo'] as { command: string; args: string[] };
  // In a checkout the CLI is TypeScript: run the same arguments with the test's TypeScript loader.
  const cli = cliCommand(entry.args.slice(1));
  t.equal(entry.command, cli.command);
  const transport = new StdioClientTransport({ command: cli.command, args: cli.args, env: cli.env, stderr: 'pipe' });
  const client = new Client({ name: 'claude-desktop-stand-in', version: '1.0.0' });
  await client.connect(transport);
  t.teardown(() => client.close());
  const result = await client.callTool({ name: 'echo', arguments: { message: 'configured' } });
  t.same(result.content, [{ type: 'text', text: 'Echo: configured' }]);
});
