/**
 * `portcullis client-config <agent> --for <client>`: the configuration an MCP
 * client needs to reach the gateway as <agent>, printed ready to paste. The
 * default is `portcullis connect` over stdio (every client can launch a
 * command; the bridge holds the identity); `--via http` gives header-capable
 * clients the gateway URL with a bearer header read from the environment, so
 * no token is ever printed into a config file. docs/clients.md says where
 * each snippet goes and what was tested.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../config/load.js';
import { defaultConfigFile } from '../server.js';
import { AGENT_NAME } from '../util/agent-name.js';
import { parse, stringOption, UsageError } from './args.js';

export const CLIENTS = ['claude-desktop', 'claude-code', 'cursor', 'vscode', 'inspector'] as const;
export type ClientName = (typeof CLIENTS)[number];

export const USAGE = `usage: portcullis client-config <agent> --for <client> [--url <gateway-url>] [--via connect|http] [--config portcullis.yaml]
  prints the configuration snippet for <client> (${CLIENTS.join(', ')}):
  --via connect (default): the client launches "portcullis connect" with the agent's certificate
  --via http: the gateway URL with "Authorization: Bearer" from $PORTCULLIS_TOKEN ("portcullis token issue <agent>";
              a gateway with listen.auth jwt; not for claude-desktop, which launches commands only)
  --url: default https://<listen.host>:<listen.port>/mcp from the configuration`;

/** The environment variable http snippets read the bearer token from. */
export const TOKEN_VARIABLE = 'PORTCULLIS_TOKEN';

/** How a client launches the bridge: this very program, by absolute paths (desktop apps do not share a shell's PATH). */
export interface LaunchCommand {
  command: string;
  args: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));

export function connectCommand(gatewayUrl: string, agent: string, configFile: string): LaunchCommand {
  const main = path.join(here, `main${path.extname(fileURLToPath(import.meta.url))}`);
  return { command: process.execPath, args: [main, 'connect', gatewayUrl, '--agent', agent, '--config', configFile] };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
/** POSIX shell quoting for the command-line snippets. */
const shell = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

function viaConnect(client: ClientName, name: string, launch: LaunchCommand): string {
  const stdio = { command: launch.command, args: launch.args };
  switch (client) {
    case 'claude-desktop':
      return `# claude_desktop_config.json (Settings > Developer > Edit Config), then restart Claude Desktop\n${json({ mcpServers: { [name]: stdio } })}`;
    case 'claude-code':
      return `# run once (or put the mcpServers entry below in the project's .mcp.json)\nclaude mcp add --transport stdio ${shell(name)} -- ${[launch.command, ...launch.args].map(shell).join(' ')}\n${json({ mcpServers: { [name]: { type: 'stdio', ...stdio } } })}`;
    case 'cursor':
      return `# ~/.cursor/mcp.json (every project) or .cursor/mcp.json (this project)\n${json({ mcpServers: { [name]: stdio } })}`;
    case 'vscode':
      return `# .vscode/mcp.json (or "MCP: Open User Configuration")\n${json({ servers: { [name]: { type: 'stdio', ...stdio } } })}`;
    case 'inspector':
      return `${['npx', '@modelcontextprotocol/inspector', '--cli', launch.command, ...launch.args, '--method', 'tools/list'].map(shell).join(' ')}\n`;
  }
}

function viaHttp(client: ClientName, name: string, url: string): string {
  const bearer = (reference: string): Record<string, string> => ({ Authorization: `Bearer ${reference}` });
  switch (client) {
    case 'claude-desktop':
      throw new UsageError('claude-desktop launches local commands only: use --via connect');
    case 'claude-code':
      return `# run once with ${TOKEN_VARIABLE} set (the token is stored in Claude Code's configuration), or put the entry below in .mcp.json (expanded at start)\nclaude mcp add --transport http ${shell(name)} ${shell(url)} --header "Authorization: Bearer \${${TOKEN_VARIABLE}}"\n${json({ mcpServers: { [name]: { type: 'http', url, headers: bearer(`\${${TOKEN_VARIABLE}}`) } } })}`;
    case 'cursor':
      return `# ~/.cursor/mcp.json or .cursor/mcp.json; ${TOKEN_VARIABLE} set where Cursor starts\n${json({ mcpServers: { [name]: { url, headers: bearer(`\${env:${TOKEN_VARIABLE}}`) } } })}`;
    case 'vscode':
      return `# .vscode/mcp.json: VS Code asks for the token once and keeps it in its secret storage\n${json({
        inputs: [{ type: 'promptString', id: 'portcullis-token', description: `Portcullis bearer token (portcullis token issue)`, password: true }],
        servers: { [name]: { type: 'http', url, headers: bearer('${input:portcullis-token}') } },
      })}`;
    case 'inspector':
      return `npx @modelcontextprotocol/inspector --cli ${shell(url)} --transport http --header "Authorization: Bearer \${${TOKEN_VARIABLE}}" --method tools/list\n`;
  }
}

export interface SnippetRequest {
  client: ClientName;
  agent: string;
  url: string;
  via: 'connect' | 'http';
  configFile: string;
}

/** The snippet text for one client. */
export function snippet(request: SnippetRequest): string {
  const name = `portcullis-${request.agent}`;
  return request.via === 'connect'
    ? viaConnect(request.client, name, connectCommand(request.url, request.agent, request.configFile))
    : viaHttp(request.client, name, request.url);
}

function isClient(value: string | undefined): value is ClientName {
  return (CLIENTS as readonly string[]).includes(value ?? '');
}

export async function run(args: string[]): Promise<number> {
  const parsed = parse(args, ['for', 'url', 'via', 'config']);
  const [agent, extra] = parsed.positionals;
  if (agent === undefined || extra !== undefined || !AGENT_NAME.test(agent) || agent.startsWith('.')) throw new UsageError(USAGE);
  const client = stringOption(parsed, 'for');
  if (!isClient(client)) throw new UsageError(`--for takes one of: ${CLIENTS.join(', ')}`);
  const via = stringOption(parsed, 'via') ?? 'connect';
  if (via !== 'connect' && via !== 'http') throw new UsageError('--via takes connect or http');
  const configFile = path.resolve(stringOption(parsed, 'config') ?? defaultConfigFile());
  const listen = loadConfigFile(configFile).listen;
  const url = stringOption(parsed, 'url') ?? `https://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}/mcp`;
  process.stdout.write(snippet({ client, agent, url, via, configFile }));
  return 0;
}
