/**
 * `portcullis holds list [--all] [--json]`
 * `portcullis holds show <id>`
 * `portcullis holds approve <id> [--digest HEX] [--reason TEXT]`
 * `portcullis holds deny <id> [--reason TEXT]`
 * `portcullis holds tools` (quarantined tool definitions with their diff)
 * `portcullis holds approve-tool <server> <tool> <hash>`
 * `portcullis holds admin-cert <name>` (an approver certificate from the development PKI)
 * `portcullis holds new-token` (an approver token and the hash to configure)
 * Talks to the gateway's admin API over HTTPS with an admin client certificate
 * (--cert/--key, SAN spiffe://<trust-domain>/admin/<name>) or an admin token
 * (PORTCULLIS_ADMIN_TOKEN). Exit codes: 0 done, 1 refused by the gateway, 2 usage or connection error.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { loadConfigFile, resolveConfigPath } from '../config/load.js';
import { CSRF_HEADER } from '../edge/admin-holds.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { createAdminCert, validFor } from '../pki/certs.js';
import { pkiPaths } from '../pki/store.js';
import { AGENT_NAME } from '../util/agent-name.js';
import { defaultConfigFile } from '../server.js';
import type { HoldRecord } from '../holds/types.js';
import type { QuarantinedTool } from '../pinning/store.js';
import { sanitizeText } from '../sanitize/text.js';
import { UsageError } from './args.js';

export const USAGE = `usage:
  portcullis holds list [--all] [--json]
  portcullis holds show <id>
  portcullis holds approve <id> [--digest HEX] [--reason TEXT]
  portcullis holds deny <id> [--reason TEXT]
  portcullis holds tools [--json]
  portcullis holds approve-tool <server> <tool> <hash>
  portcullis holds admin-cert <name> [--config FILE] [--days N]
  portcullis holds new-token
connection options (every command):
  --url URL     gateway base URL (default $PORTCULLIS_URL or https://127.0.0.1:8443)
  --ca FILE     CA certificate of the gateway (default $PORTCULLIS_CA or certs/ca.pem)
  --cert FILE --key FILE   admin client certificate and key
  or the admin token in $PORTCULLIS_ADMIN_TOKEN`;

/** The gateway answered with an error: exit 1 with its message. */
class RefusedError extends Error {}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const stdio: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
} as const;

interface AdminClient {
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

function adminClient(values: { url?: string; ca?: string; cert?: string; key?: string }, env: NodeJS.ProcessEnv): AdminClient {
  const base = new URL(values.url ?? env.PORTCULLIS_URL ?? 'https://127.0.0.1:8443');
  if (base.protocol !== 'https:') throw new UsageError('the admin API is only reached over https');
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together');
  const token = env.PORTCULLIS_ADMIN_TOKEN;
  if (values.cert === undefined && !token) throw new UsageError('give --cert/--key or set PORTCULLIS_ADMIN_TOKEN');
  const dispatcher = new Agent({
    connect: {
      ca: readFileSync(values.ca ?? env.PORTCULLIS_CA ?? 'certs/ca.pem', 'utf8'),
      ...(values.cert !== undefined && values.key !== undefined
        ? { cert: readFileSync(values.cert, 'utf8'), key: readFileSync(values.key, 'utf8') }
        : {}),
    },
  });
  return {
    async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json', [CSRF_HEADER]: '1' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (values.cert === undefined && token) headers.authorization = `Bearer ${token}`;
      const response = await request(new URL(path, base), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher,
      });
      const data = (await response.body.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
      if (response.statusCode >= 400) {
        throw new RefusedError(`HTTP ${response.statusCode}: ${data?.error?.message ?? 'request failed'}`);
      }
      return data as T;
    },
    close: () => dispatcher.close(),
  };
}

/** Values came from the gateway, which may relay text from agents: keep the terminal inert. */
function safe(text: string): string {
  return sanitizeText(text, { maxLength: 2000 });
}

function timeLeft(hold: HoldRecord): string {
  const s = Math.max(0, Math.ceil((Date.parse(hold.expires_at) - Date.now()) / 1000));
  return hold.state === 'pending' ? `${s}s left` : hold.state;
}

function holdLines(hold: HoldRecord): string {
  return [
    `${safe(hold.id)}  ${safe(hold.server)}/${safe(hold.tool ?? hold.method)}  agent ${safe(hold.agent_name)}  ${timeLeft(hold)}`,
    `  held because: ${safe(hold.reasons.join('; ') || 'the policy gave no reason')}`,
    `  digest:   ${safe(hold.digest)}  revision ${safe(hold.revision)}`,
    `  arguments (redacted): ${safe(JSON.stringify(hold.arguments))}`,
    ...(hold.decided_by ? [`  decided by ${safe(hold.decided_by)}${hold.decision_reason ? `: ${safe(hold.decision_reason)}` : ''}`] : []),
  ].join('\n');
}

function toolLines(item: QuarantinedTool): string {
  return [
    `${safe(item.server)}/${safe(item.tool)}  ${item.change === 'added' ? 'new tool' : 'definition changed'}  hash ${safe(item.pending_hash)}`,
    ...(item.flags.length > 0 ? [`  flags: ${safe(item.flags.join(', '))}`] : []),
    ...item.diff.map((line) => `  ${safe(line)}`),
  ].join('\n');
}

async function withClient<T>(values: Parameters<typeof adminClient>[0], io: Io, use: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = adminClient(values, io.env);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

function one(positionals: string[], what: string): string {
  const [value] = positionals;
  if (value === undefined || positionals.length !== 1) throw new UsageError(`expected ${what}`);
  return value;
}

async function dispatch(command: string | undefined, args: string[], io: Io): Promise<number> {
  switch (command) {
    case 'list': {
      const { values } = parseArgs({ args, options: { ...CONNECTION_OPTIONS, all: { type: 'boolean' }, json: { type: 'boolean' } } });
      const { holds } = await withClient(values, io, (c) =>
        c.call<{ holds: HoldRecord[] }>('GET', values.all ? '/admin/holds' : '/admin/holds?pending=true'),
      );
      if (values.json) io.out(`${JSON.stringify(holds)}\n`);
      else io.out(holds.length === 0 ? 'no holds\n' : `${holds.map(holdLines).join('\n')}\n`);
      return 0;
    }
    case 'show': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
      const id = one(positionals, 'a hold id');
      const { hold } = await withClient(values, io, (c) => c.call<{ hold: HoldRecord }>('GET', `/admin/holds/${encodeURIComponent(id)}`));
      io.out(`${holdLines(hold)}\n`);
      return 0;
    }
    case 'approve': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { ...CONNECTION_OPTIONS, digest: { type: 'string' }, reason: { type: 'string' } },
      });
      const id = encodeURIComponent(one(positionals, 'a hold id'));
      const hold = await withClient(values, io, async (c) => {
        // Without --digest, approve exactly the call shown here (and printed first).
        const current = (await c.call<{ hold: HoldRecord }>('GET', `/admin/holds/${id}`)).hold;
        if (values.digest === undefined) io.out(`${holdLines(current)}\n`);
        const body = { digest: values.digest ?? current.digest, revision: current.revision, ...(values.reason ? { reason: values.reason } : {}) };
        return (await c.call<{ hold: HoldRecord }>('POST', `/admin/holds/${id}/approve`, body)).hold;
      });
      io.out(`approved ${safe(hold.id)}\n`);
      return 0;
    }
    case 'deny': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...CONNECTION_OPTIONS, reason: { type: 'string' } } });
      const id = encodeURIComponent(one(positionals, 'a hold id'));
      const body = values.reason ? { reason: values.reason } : {};
      const { hold } = await withClient(values, io, (c) => c.call<{ hold: HoldRecord }>('POST', `/admin/holds/${id}/deny`, body));
      io.out(`denied ${safe(hold.id)}\n`);
      return 0;
    }
    case 'tools': {
      const { values } = parseArgs({ args, options: { ...CONNECTION_OPTIONS, json: { type: 'boolean' } } });
      const { tools } = await withClient(values, io, (c) => c.call<{ tools: QuarantinedTool[] }>('GET', '/admin/pins'));
      if (values.json) io.out(`${JSON.stringify(tools)}\n`);
      else io.out(tools.length === 0 ? 'no quarantined tools\n' : `${tools.map(toolLines).join('\n\n')}\n`);
      return 0;
    }
    case 'approve-tool': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
      const [server, tool, hash] = positionals;
      if (server === undefined || tool === undefined || hash === undefined || positionals.length !== 3) {
        throw new UsageError('expected <server> <tool> <hash>');
      }
      await withClient(values, io, (c) => c.call('POST', '/admin/pins/approve', { server, tool, hash }));
      io.out(`approved the new definition of ${safe(server)}/${safe(tool)}\n`);
      return 0;
    }
    case 'admin-cert': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' }, days: { type: 'string' } } });
      const name = one(positionals, 'an approver name');
      if (!AGENT_NAME.test(name) || name.startsWith('.')) throw new UsageError('approver names are 1-64 letters, digits, ".", "_" or "-"');
      const days = values.days === undefined ? 30 : Number(values.days);
      if (!Number.isInteger(days) || days < 1 || days > 365) throw new UsageError('--days must be a whole number from 1 to 365');
      const config = loadConfigFile(values.config ?? defaultConfigFile());
      const paths = pkiPaths(resolveConfigPath(config, config.tls.dir));
      const ca = { certPem: readFileSync(paths.caCert, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') };
      const pair = createAdminCert(ca, config.tls.trust_domain, name, validFor(days));
      const cert = path.join(paths.dir, 'admins', `${name}.pem`);
      const key = path.join(paths.dir, 'admins', `${name}-key.pem`);
      writeFileAtomic(key, pair.keyPem);
      writeFileAtomic(cert, pair.certPem);
      io.out(
        `issued spiffe://${config.tls.trust_domain}/admin/${name}\n  certificate: ${cert}\n  private key: ${key}\n` +
          `add to portcullis.yaml under holds.approvers: ${name}: { roles: [approver] }\n`,
      );
      return 0;
    }
    case 'new-token': {
      parseArgs({ args, options: {} });
      const token = randomBytes(32).toString('base64url');
      io.out(`token (give it to the approver; it is not stored): ${token}\ntoken_sha256: ${createHash('sha256').update(token).digest('hex')}\n`);
      return 0;
    }
    default:
      throw new UsageError(command === undefined ? 'missing command' : `unknown command "${safe(command)}"`);
  }
}

export async function run(args: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = args;
  try {
    return await dispatch(command, rest, io);
  } catch (error) {
    if (error instanceof RefusedError) {
      io.err(`portcullis holds: ${safe(error.message)}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.err(`portcullis holds: ${safe((error as Error).message)}\n${USAGE}\n`);
      return 2;
    }
    io.err(`portcullis holds: ${safe(code ?? (error as Error).message ?? 'failed')}\n`);
    return 2;
  }
}
