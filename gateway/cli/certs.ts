/**
 * `portcullis certs init | issue <agent> | revoke <agent|serial>`: the
 * development PKI. Revoking an agent revokes its identity too (its other
 * certificates and its tokens); revoking a serial only that certificate.
 */
import { loadConfigFile, resolveConfigPath } from '../config/load.js';
import { validFor } from '../pki/certs.js';
import { identityListFile } from '../config/pki-files.js';
import { initPki, issueAgent, pkiPaths, revoke } from '../pki/store.js';
import { defaultConfigFile } from '../server.js';
import { parse, stringOption, UsageError } from './args.js';

export const USAGE = `usage: portcullis certs init [--force]
       portcullis certs issue <agent> [--days N]
       portcullis certs revoke <agent|serial>   (an agent: its identity and tokens too)
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
      const list = identityListFile(config);
      const revoked = revoke(paths, subject, { list, trustDomain });
      const identity = revoked.identity === undefined ? '' : ` and ${revoked.identity} (${list.file})`;
      process.stdout.write(`revoked serial ${revoked.serial} (${paths.crl})${identity}; refused within a second, open connections included\n`);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}
