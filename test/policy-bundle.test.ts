import t from 'tap';
import type { Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildFolderBundle, locatePolicy, preparePolicy } from '../gateway/policy/bundle/artifact.js';
import { BundleError, readBundle, writeBundle, SIGNATURES_FILE } from '../gateway/policy/bundle/bundle.js';
import {
  bundleFileDigest, canonicalJsonText, signBundleFiles, signingKey, verificationKey, verifyBundleFiles,
} from '../gateway/policy/bundle/signing.js';
import type { VerificationConfig } from '../gateway/policy/bundle/signing.js';
import { contentRevision, folderRevision, gitRevision } from '../gateway/policy/bundle/revision.js';
import { readPolicySources } from '../gateway/policy/bundle/sources.js';
import { execFileSync } from 'node:child_process';
import { createCa } from '../gateway/pki/certs.js';
import type { PolicyInput } from '../gateway/policy/engine/decision.js';

const POLICY = `package portcullis
import rego.v1
decision := {"allow": input.agent.name in data.team.members, "reasons": []}
`;

function tempDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function policyFolder(t: Test): string {
  const dir = tempDir(t);
  const folder = path.join(dir, 'policy');
  mkdirSync(path.join(folder, 'team'), { recursive: true });
  writeFileSync(path.join(folder, 'p.rego'), POLICY);
  writeFileSync(path.join(folder, 'team', 'data.json'), JSON.stringify({ members: ['alice'] }));
  return folder;
}

const ask = (name: string): PolicyInput => ({
  agent: { id: name, name, auth: 'mtls', roles: [] },
  message: { direction: 'request', kind: 'request', method: 'ping', server: '*' },
  context: { time_ns: 0 },
});

function ecKeys(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

async function signArchive(archive: Uint8Array, privatePem: string, keyid = 'k1'): Promise<Uint8Array> {
  const files = new Map(readBundle(archive).files);
  files.set(SIGNATURES_FILE, new Uint8Array(Buffer.from(await signBundleFiles(files, signingKey(privatePem), { keyid }))));
  return writeBundle(files);
}

t.test('a folder builds into an OPA-layout bundle that loads and decides like the folder', async (t) => {
  const folder = policyFolder(t);
  const { archive, revision } = buildFolderBundle(folder, ['portcullis/decision']);
  const bundle = readBundle(archive);
  t.same([...bundle.files.keys()].sort(), ['.manifest', 'data.json', 'policy.wasm']);
  t.same(bundle.manifest.wasm, [{ entrypoint: 'portcullis/decision', module: '/policy.wasm' }]);
  t.equal(bundle.manifest.revision, revision);
  t.match(revision, /^sha256:[0-9a-f]{64}/);
  t.same(bundle.data, { team: { members: ['alice'] } });

  const file = path.join(path.dirname(folder), 'policy.tar.gz');
  writeFileSync(file, archive);
  const fromBundle = await preparePolicy(locatePolicy(file));
  const fromFolder = await preparePolicy(locatePolicy(folder));
  t.equal(fromBundle.revision, revision);
  t.equal(fromFolder.revision, revision);
  for (const name of ['alice', 'bob']) {
    t.same(fromBundle.engine.decide(ask(name)), fromFolder.engine.decide(ask(name)));
  }
  t.equal(fromBundle.engine.decide(ask('alice')).allow, true);
  t.equal(fromBundle.engine.decide(ask('bob')).allow, false);
  t.same(buildFolderBundle(folder, ['portcullis/decision']).archive, archive, 'builds are reproducible');
});

t.test('the revision is a content hash of sources and data', async (t) => {
  const a = contentRevision({ modules: { 'p.rego': POLICY }, dataFiles: { 'data.json': '{}' } });
  t.equal(a, contentRevision({ modules: { 'p.rego': POLICY }, dataFiles: { 'data.json': '{}' } }));
  t.not(a, contentRevision({ modules: { 'p.rego': `${POLICY} ` }, dataFiles: { 'data.json': '{}' } }));
  t.not(a, contentRevision({ modules: { 'p.rego': POLICY }, dataFiles: { 'data.json': '{"a":1}' } }));
  t.not(a, contentRevision({ modules: { 'q.rego': POLICY }, dataFiles: { 'data.json': '{}' } }));
});

const hasGit = ((): boolean => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

t.test('in a git work tree the revision names the commit, and whether the folder differs from it', { skip: hasGit ? false : 'git is not installed' }, async (t) => {
  const folder = policyFolder(t);
  t.equal(gitRevision(folder), undefined, 'not a work tree');
  t.notMatch(folderRevision(readPolicySources(folder)), /git/);
  const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args], { cwd: folder, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'policy');
  const commit = git('rev-parse', 'HEAD');
  t.equal(gitRevision(folder), commit);
  t.match(folderRevision(readPolicySources(folder)), new RegExp(`^sha256:[0-9a-f]{64}\\+git:${commit}$`));
  writeFileSync(path.join(folder, 'p.rego'), `${POLICY}\n# changed\n`);
  t.equal(gitRevision(folder), `${commit}-dirty`);
});

t.test('data.yaml files are merged like data.json', async (t) => {
  const folder = policyFolder(t);
  rmSync(path.join(folder, 'team', 'data.json'));
  writeFileSync(path.join(folder, 'team', 'data.yaml'), 'members:\n  - alice\n');
  const { engine } = await preparePolicy(locatePolicy(folder));
  t.equal(engine.decide(ask('alice')).allow, true);
  t.same(readBundle(buildFolderBundle(folder, ['portcullis/decision']).archive).data, { team: { members: ['alice'] } });
});

t.test('signed bundles verify; altered, unsigned or foreign-signed ones are refused', async (t) => {
  const folder = policyFolder(t);
  const keys = ecKeys();
  const { archive } = buildFolderBundle(folder, ['portcullis/decision']);
  const signed = await signArchive(archive, keys.privatePem);
  const verification: VerificationConfig = { keys: { k1: verificationKey(keys.publicPem) } };

  await t.resolves(verifyBundleFiles(readBundle(signed).files, verification));
  const file = path.join(path.dirname(folder), 'signed.tar.gz');
  writeFileSync(file, signed);
  const prepared = await preparePolicy(locatePolicy(file), { verification });
  t.equal(prepared.engine.decide(ask('alice')).allow, true);

  // Altered data after signing.
  const altered = new Map(readBundle(signed).files);
  altered.set('data.json', new Uint8Array(Buffer.from(JSON.stringify({ team: { members: ['alice', 'mallory'] } }))));
  await t.rejects(verifyBundleFiles(altered, verification), { name: 'SignatureError', message: /data.json: digest mismatch/ });
  writeFileSync(file, writeBundle(altered));
  await t.rejects(preparePolicy(locatePolicy(file), { verification }), { name: 'PolicyRejectedError', message: /digest mismatch/ });

  // An extra file, a removed file, no signature, another key, a forged payload.
  const extra = new Map(readBundle(signed).files);
  extra.set('evil.rego', new Uint8Array(Buffer.from('package x')));
  await t.rejects(verifyBundleFiles(extra, verification), { message: /evil.rego is not covered/ });
  const missing = new Map(readBundle(signed).files);
  missing.delete('data.json');
  await t.rejects(verifyBundleFiles(missing, verification), { message: /missing from the bundle: data.json/ });
  await t.rejects(verifyBundleFiles(readBundle(archive).files, verification), { message: /not signed/ });
  const other = ecKeys();
  await t.rejects(verifyBundleFiles(readBundle(await signArchive(archive, other.privatePem)).files, verification), { message: /signature is invalid/ });
  await t.rejects(verifyBundleFiles(readBundle(await signArchive(archive, keys.privatePem, 'unknown')).files, verification), { message: /not trusted/ });
  const token = JSON.parse(Buffer.from(readBundle(signed).files.get(SIGNATURES_FILE) ?? []).toString()).signatures[0] as string;
  const [header, , sig] = token.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ files: [], keyid: 'k1' })).toString('base64url');
  const forged = new Map(readBundle(signed).files);
  forged.set(SIGNATURES_FILE, new Uint8Array(Buffer.from(JSON.stringify({ signatures: [`${header}.${forgedPayload}.${sig}`] }))));
  await t.rejects(verifyBundleFiles(forged, verification), { message: /signature is invalid/ });
  // Scope must match when configured.
  await t.rejects(verifyBundleFiles(readBundle(signed).files, { ...verification, scope: 'prod' }), { message: /scope mismatch/ });
});

t.test('keys from the gateway PKI: the CA key signs, the CA certificate verifies', async (t) => {
  const ca = createCa('portcullis.test');
  const folder = policyFolder(t);
  const signed = await signArchive(buildFolderBundle(folder, ['portcullis/decision']).archive, ca.keyPem, 'ca');
  await t.resolves(verifyBundleFiles(readBundle(signed).files, { keys: { ca: verificationKey(ca.certPem) } }));
});

t.test('structured files are hashed canonically, as OPA does', async (t) => {
  t.equal(canonicalJsonText('{ "b": 1.0, "a": [1, 2e3, "x\\u0041"], "c": {"z": null, "y": true} }'),
    '{"a":[1,2e3,"xA"],"b":1.0,"c":{"y":true,"z":null}}');
  t.throws(() => canonicalJsonText('{"a":1,}'));
  t.throws(() => canonicalJsonText('[1] 2'));
  const pretty = new Uint8Array(Buffer.from('{\n  "b": 1,\n  "a": 2\n}\n'));
  const compact = new Uint8Array(Buffer.from('{"a":2,"b":1}'));
  t.equal(bundleFileDigest('x/data.json', pretty), bundleFileDigest('x/data.json', compact));
  t.not(bundleFileDigest('policy.wasm', pretty), bundleFileDigest('policy.wasm', compact), 'other files hash their bytes');
  t.throws(() => bundleFileDigest('policy.wasm', pretty, 'MD5'), /unsupported digest/);
});

t.test('malformed archives are refused with a BundleError', async (t) => {
  t.throws(() => readBundle(new Uint8Array([1, 2, 3])), BundleError);
  t.throws(() => readBundle(new Uint8Array(gzipSync(Buffer.alloc(600, 7)))), BundleError);
  t.throws(() => readBundle(gzipSync(Buffer.alloc(4 * 1024 * 1024)), { maxCompressedBytes: 1 << 20, maxUncompressedBytes: 1 << 20, maxEntries: 10 }),
    { name: 'BundleError', message: /too large/ });
  t.throws(() => writeBundle(new Map([['../evil', new Uint8Array()]])), { name: 'BundleError' });
  const noWasm = writeBundle(new Map([['data.json', new Uint8Array(Buffer.from('{}'))]]));
  const dir = tempDir(t);
  const file = path.join(dir, 'empty.tar.gz');
  writeFileSync(file, noWasm);
  await t.rejects(preparePolicy(locatePolicy(file)), { name: 'PolicyRejectedError', message: /no WebAssembly module/ });
  const badData = writeBundle(new Map([['data.json', new Uint8Array(Buffer.from('[1]'))]]));
  t.throws(() => readBundle(badData), { name: 'BundleError', message: /must be a JSON object/ });
  t.ok(readFileSync(file).byteLength > 0);
});
