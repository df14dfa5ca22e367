/**
 * `portcullis token issue <agent>`: a bearer JWT signed with the gateway's
 * server key, with a random `jti` (printed on stderr, the token alone on
 * stdout). `portcullis token revoke <agent|jti>`: refuses all of an agent's
 * tokens (and certificates), or one token, from then on.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadConfigFile } from '../config/load.js';
import type { PortcullisConfig } from '../config/sections.js';
import { issueToken } from '../identity/jwt.js';
import { configuredPki, identityListFile } from '../config/pki-files.js';
import { spiffeId } from '../pki/certs.js';
import { MAX_IDENTIFIER } from '../pki/identity-list.js';
import { readIdentityList, revokeIdentities } from '../pki/store.js';
import { defaultConfigFile } from '../server.js';
import { parse, stringOption, UsageError } from './args.js';
import { AGENT_NAME } from '../util/agent-name.js';

export const USAGE = `usage: portcullis token issue <agent> [--ttl seconds]
       portcullis token revoke <agent|jti>     (a jti as printed by "token issue")
       portcullis token revoke --jti <jti>     (any token id, e.g. of another issuer)
options: --config <portcullis.yaml>`;

/** The shape of the `jti` that `token issue` puts in its tokens. */
const ISSUED_JTI = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function issue(config: PortcullisConfig, agent: string, ttlOption: string | undefined): Promise<number> {
  const ttl = ttlOption === undefined ? Math.min(3600, config.jwt.max_ttl_s) : Number(ttlOption);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.jwt.max_ttl_s) {
    throw new UsageError(`--ttl must be a whole number of seconds from 1 to ${config.jwt.max_ttl_s} (jwt.max_ttl_s)`);
  }
  const id = spiffeId(config.tls.trust_domain, agent);
  const pki = configuredPki(config);
  if (pki.revokedIdentities !== undefined && readIdentityList(identityListFile(config)).identities.some((entry) => entry.id === id)) {
    process.stderr.write(`warning: ${id} is revoked: the gateway refuses this token\n`);
  }
  const jti = randomUUID();
  const token = await issueToken(readFileSync(pki.serverKey, 'utf8'), config.jwt, config.tls.trust_domain, agent, ttl, jti);
  process.stdout.write(`${token}\n`);
  process.stderr.write(`token id (jti) ${jti}, valid ${ttl} s; revoke it with: portcullis token revoke ${jti}\n`);
  return 0;
}

function revoke(config: PortcullisConfig, subject: string | undefined, jtiOption: string | undefined): number {
  const jti = jtiOption ?? (subject !== undefined && ISSUED_JTI.test(subject) ? subject : undefined);
  if (jti !== undefined) {
    if (subject !== undefined && jtiOption !== undefined) throw new UsageError(USAGE);
    if (jti === '' || jti.length > MAX_IDENTIFIER) throw new UsageError(`a jti has 1 to ${MAX_IDENTIFIER} characters`);
    revokeIdentities(identityListFile(config), { jtis: [jti] });
    process.stdout.write(`revoked token ${jti}; the gateway refuses it within a second\n`);
    return 0;
  }
  if (subject === undefined || !AGENT_NAME.test(subject)) throw new UsageError(USAGE);
  const id = spiffeId(config.tls.trust_domain, subject);
  revokeIdentities(identityListFile(config), { ids: [id] });
  process.stdout.write(`revoked ${id}: its tokens and certificates are refused within a second\n`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parse(args, ['config', 'ttl', 'jti']);
  const [action, subject, extra] = parsed.positionals;
  if (extra !== undefined) throw new UsageError(USAGE);
  const config = (): PortcullisConfig => loadConfigFile(stringOption(parsed, 'config') ?? defaultConfigFile());
  if (action === 'issue' && subject !== undefined && AGENT_NAME.test(subject)) return issue(config(), subject, stringOption(parsed, 'ttl'));
  if (action === 'revoke') return revoke(config(), subject, stringOption(parsed, 'jti'));
  throw new UsageError(USAGE);
}
