import t from 'tap';
import type { Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configFromObject, resolveConfigPath } from '../gateway/config/load.js';
import { buildFolderBundle } from '../gateway/policy/bundle/artifact.js';
import { readBundle, writeBundle, SIGNATURES_FILE } from '../gateway/policy/bundle/bundle.js';
import { policySource } from '../gateway/policy/config.js';
import { PolicyReloader } from '../gateway/policy/reload.js';
import { signBundleFiles, signingKey } from '../gateway/policy/bundle/signing.js';

const POLICY = 'package portcullis\nimport rego.v1\ndecision := {"allow": true}\n';

function workspace(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-policy-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'p.rego'), POLICY);
  const { archive } = buildFolderBundle(dir, ['portcullis/decision']);
  writeFileSync(path.join(dir, 'unsigned.tar.gz'), archive);
  return dir;
}

async function sign(dir: string, keyid: string, privatePem: string): Promise<void> {
  const files = new Map(readBundle(buildFolderBundle(dir, ['portcullis/decision']).archive).files);
  files.set(SIGNATURES_FILE, new Uint8Array(Buffer.from(await signBundleFiles(files, signingKey(privatePem), { keyid }))));
  writeFileSync(path.join(dir, 'signed.tar.gz'), writeBundle(files));
}

t.test('the policy section has strict defaults and rejects unknown keys', async (t) => {
  const config = configFromObject({}, '/srv/portcullis');
  t.same(config.policy, { dir: 'policies', run_tests: true, status_file: 'var/policy-status.json', memory_pages: { initial: 16, maximum: 512 } });
  t.throws(() => configFromObject({ policy: { dri: 'x' } }, '/srv'), { name: 'ConfigError' });
  t.throws(() => configFromObject({ policy: { signing: { keys: {} } } }, '/srv'), { name: 'ConfigError' });
  const git = configFromObject({ policy: { git: { url: 'https://git.example/p.git' } } }, '/srv');
  t.same(git.policy.git, { url: 'https://git.example/p.git', ref: 'main', path: '.', poll_s: 60 }, 'git defaults');
  for (const bad of [{ ref: '--upload-pack=x' }, { ref: 'a/../b' }, { path: '../x' }, { path: '/etc' }, { path: 'a:b' }, { url: '--upload-pack=x' }, { poll_s: 0 }, { signers: [] }]) {
    t.throws(() => configFromObject({ policy: { git: { url: 'repo', ...bad } } }, '/srv'), { name: 'ConfigError' }, `git ${JSON.stringify(bad)} refused`);
  }
  t.throws(() => configFromObject({ policy: { shadow: { dir: 'a', bundle: 'b.tar.gz' } } }, '/srv'), { name: 'ConfigError' }, 'one shadow source');
  t.throws(() => configFromObject({ policy: { shadow: { run_tests: false } } }, '/srv'), { name: 'ConfigError' }, 'a shadow names its source');
});

t.test('signing keys make the gateway run only bundles they signed', async (t) => {
  const dir = workspace(t);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(path.join(dir, 'release.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  await sign(dir, 'release', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const signing = { keys: { release: { file: 'release.pem' } } };
  const resolve = (c: ReturnType<typeof configFromObject>) => (p: string) => resolveConfigPath(c, p);

  const signedConfig = configFromObject({ policy: { bundle: 'signed.tar.gz', signing } }, dir);
  const signed = policySource(signedConfig.policy, resolve(signedConfig));
  const running = new PolicyReloader(signed.source, signed.options);
  await running.start();
  t.match(running.revision, /^sha256:/);

  const unsignedConfig = configFromObject({ policy: { bundle: 'unsigned.tar.gz', signing } }, dir);
  const unsigned = policySource(unsignedConfig.policy, resolve(unsignedConfig));
  await t.rejects(new PolicyReloader(unsigned.source, unsigned.options).start(), { message: /not signed/ });

  const folderConfig = configFromObject({ policy: { dir: '.', signing } }, dir);
  t.throws(() => policySource(folderConfig.policy, resolve(folderConfig)), { message: /requires policy.bundle/ });
  const missingKey = configFromObject({ policy: { bundle: 'signed.tar.gz', signing: { keys: { k: { file: 'nope.pem' } } } } }, dir);
  t.throws(() => policySource(missingKey.policy, resolve(missingKey)), { message: /cannot read/ });
});
