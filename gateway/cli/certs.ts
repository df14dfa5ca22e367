/** `portcullis certs init | issue <agent> | revoke <agent|serial>`: the development PKI. */
import { loadConfigFile, resolveConfigPath } from '../config/load.js';
import { validFor } from '../pki/certs.js';
import { initPki, issueAgent, pkiPaths, revoke } from '../pki/store.js';
import { defaultConfigFile } from '../server.js';
import { parse, stringOption, UsageError } from './args.js';

const USAGE = `usage: portcullis certs init [--force]
       portcullis certs issue <agent> [--days N]
       portcullis certs revoke <agent|serial>
options: --config <portcullis.yaml>`;

export async function run(args: string[]): Promise<number> {
  const parsed = parse(args, ['config', 'days'], ['force']);
  const { positionals } = parsed;
  const config = loadConfigFile(stringOption(parsed, 'config') ?? defaultConfigFile());
  const paths = pkiPaths(resolveConfigPath(config, config.tls.dir));
  const trustDomain = config.tls.trust_domain;
  const [action, subject] = positionals;
  switch (action) {
    case 'init':
      initPki(paths, trustDomain, { force: parsed.values.force === true });
      process.stdout.write(`created CA ${paths.caCert}, server certificate ${paths.serverCert} and CRL ${paths.crl}\n`);
      return 0;
    case 'issue': {
      if (subject === undefined) throw new UsageError(USAGE);
      const daysOption = stringOption(parsed, 'days');
      const days = daysOption === undefined ? 90 : Number(daysOption);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError('--days must be a whole number from 1 to 3650');
      const files = issueAgent(paths, trustDomain, subject, validFor(days));
      process.stdout.write(`issued spiffe://${trustDomain}/agent/${subject}\n  certificate: ${files.cert}\n  private key: ${files.key}\n`);
      return 0;
    }
    case 'revoke': {
      if (subject === undefined) throw new UsageError(USAGE);
      const serial = revoke(paths, subject);
      process.stdout.write(`revoked serial ${serial} (${paths.crl}); new connections with it are refused\n`);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}
