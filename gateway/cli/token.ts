/** `portcullis token issue <agent>`: a bearer JWT signed with the gateway's server key. */
import { readFileSync } from 'node:fs';
import { loadConfigFile, resolveConfigPath } from '../config/load.js';
import { issueToken } from '../identity/jwt.js';
import { pkiPaths } from '../pki/store.js';
import { defaultConfigFile } from '../server.js';
import { parse, stringOption, UsageError } from './args.js';
import { AGENT_NAME } from '../identity/agent-name.js';

const USAGE = 'usage: portcullis token issue <agent> [--ttl seconds] [--config <portcullis.yaml>]';

export async function run(args: string[]): Promise<number> {
  const parsed = parse(args, ['config', 'ttl']);
  const [action, agent] = parsed.positionals;
  if (action !== 'issue' || agent === undefined || !AGENT_NAME.test(agent)) throw new UsageError(USAGE);
  const config = loadConfigFile(stringOption(parsed, 'config') ?? defaultConfigFile());
  const ttlOption = stringOption(parsed, 'ttl');
  const ttl = ttlOption === undefined ? Math.min(3600, config.jwt.max_ttl_s) : Number(ttlOption);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.jwt.max_ttl_s) {
    throw new UsageError(`--ttl must be a whole number of seconds from 1 to ${config.jwt.max_ttl_s} (jwt.max_ttl_s)`);
  }
  const keyFile = config.tls.key !== undefined ? resolveConfigPath(config, config.tls.key) : pkiPaths(resolveConfigPath(config, config.tls.dir)).serverKey;
  const token = await issueToken(readFileSync(keyFile, 'utf8'), config.jwt, config.tls.trust_domain, agent, ttl);
  process.stdout.write(`${token}\n`);
  return 0;
}
