/** The development PKI: files and modes, certificate contents, signed revocation lists (CRL and identity list). */
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createCa, normaliseSerial, serialOf } from '../gateway/pki/certs.js';
import { buildCrl, CrlError, parseCrl } from '../gateway/pki/crl.js';
import { initPki, issueAgent, pkiPaths, readIdentityList, revoke, revokeIdentities } from '../gateway/pki/store.js';
import { buildIdentityList, IdentityListError, parseIdentityList } from '../gateway/pki/identity-list.js';
import { withTokenId } from '../gateway/identity/agent.js';
import { RevocationList } from '../gateway/identity/revocation.js';

t.test('certs init / issue / revoke', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const paths = pkiPaths(dir);
  initPki(paths, 'example.test');
  t.throws(() => initPki(paths, 'example.test'), /already exists/, 'never overwrites a CA by accident');
  for (const key of [paths.caKey, paths.serverKey]) t.equal(statSync(key).mode & 0o777, 0o600, `${path.basename(key)} is 0600`);

  const ca = new X509Certificate(readFileSync(paths.caCert));
  const server = new X509Certificate(readFileSync(paths.serverCert));
  t.ok(ca.ca, 'CA certificate');
  t.ok(server.verify(ca.publicKey), 'server certificate signed by the CA');
  t.match(server.subjectAltName, /DNS:localhost/);
  t.match(server.subjectAltName, /IP Address:127\.0\.0\.1/);
  t.match(server.subjectAltName, /IP Address:0:0:0:0:0:0:0:1/);
  t.equal(server.checkHost('localhost'), 'localhost');

  const files = issueAgent(paths, 'example.test', 'agent-7');
  t.equal(statSync(files.key).mode & 0o777, 0o600, 'agent key is 0600');
  const client = new X509Certificate(readFileSync(files.cert));
  t.equal(client.subjectAltName, 'URI:spiffe://example.test/agent/agent-7');
  t.ok(client.verify(ca.publicKey));
  t.throws(() => issueAgent(paths, 'example.test', '../escape'), /invalid agent name/);

  const revocations = new RevocationList({ crl: { file: paths.crl, caCertPem: readFileSync(paths.caCert, 'utf8') } });
  const serial = serialOf(readFileSync(files.cert, 'utf8'));
  t.notOk(revocations.isRevoked(serial), 'fresh certificate not revoked');
  t.equal(revoke(paths, 'agent-7').serial, serial, 'revoke by agent name');
  t.ok(revocations.isRevoked(serial.toUpperCase()), 'revocation seen without restart (any hex case)');
  revoke(paths, 'ABCDEF01');
  t.ok(revocations.isRevoked('abcdef01'), 'revoke by serial');
  t.ok(revocations.isRevoked(serial), 'earlier revocation kept');
  t.throws(() => revoke(paths, 'no such agent!'), /neither an issued agent nor a hexadecimal serial/);

  // The CRL is a standard X.509 CRL: OpenSSL verifies its signature against the CA.
  const openssl = execFileSync('openssl', ['crl', '-in', paths.crl, '-CAfile', paths.caCert, '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // serialOf drops leading zeros; OpenSSL prints whole bytes (a serial may start with 0).
  t.match(openssl, new RegExp(`Serial Number: 0*${serial.toUpperCase()}\\b`));
});

t.test('a CRL not signed by the CA is refused, and then nothing is trusted', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-crl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = createCa('a.test');
  const impostor = createCa('a.test');
  const forged = buildCrl(impostor.certPem, impostor.keyPem, []);
  t.throws(() => parseCrl(forged, ca.certPem), CrlError);
  t.throws(() => parseCrl('not a crl', ca.certPem), CrlError);
  const file = path.join(dir, 'crl.pem');
  writeFileSync(file, forged);
  const problems: string[] = [];
  const list = new RevocationList({ crl: { file, caCertPem: ca.certPem }, onProblem: (message) => problems.push(message) });
  t.ok(list.isRevoked('01'), 'fails closed');
  t.match(problems[0], /refusing all client certificates/);
  writeFileSync(file, buildCrl(ca.certPem, ca.keyPem, [{ serial: '0a', revokedAt: new Date() }]));
  t.ok(list.isRevoked(normaliseSerial('000A')), 'valid CRL takes over once fixed');
  t.notOk(list.isRevoked('0b'));
});

t.test('the identity revocation list: signed with the server key, refused when it does not verify', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-ids-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const paths = pkiPaths(dir);
  initPki(paths, 'ids.test');
  const list = { file: paths.revokedIdentities, keyPem: readFileSync(paths.serverKey, 'utf8'), certPem: readFileSync(paths.serverCert, 'utf8') };
  t.same(readIdentityList(list), { identities: [], tokens: [] }, 'init writes an empty, signed list');

  const problems: string[] = [];
  const revocations = new RevocationList({ identities: { file: list.file, signerCertPem: list.certPem }, onProblem: (m) => problems.push(m) });
  const demo = { id: 'spiffe://ids.test/agent/demo', name: 'demo', auth: 'jwt' as const, roles: [] };
  t.equal(revocations.refusal(demo), undefined, 'nobody revoked yet');

  revokeIdentities(list, { ids: [demo.id], jtis: ['token-1'] });
  revokeIdentities(list, { ids: [demo.id] });
  t.equal(readIdentityList(list).identities.length, 1, 'revoking twice keeps one entry');
  revocations.refresh();
  t.equal(revocations.refusal(demo), 'identity revoked');
  t.equal(revocations.refusal(withTokenId({ ...demo, id: 'spiffe://ids.test/agent/other' }, 'token-1')), 'token revoked');
  t.equal(revocations.refusal(withTokenId({ ...demo, id: 'spiffe://ids.test/agent/other' }, 'token-2')), undefined, 'another token is not');

  // Anyone without the server key: an edited list does not verify, and then every identity is refused.
  const edited = readFileSync(list.file, 'utf8').replace(demo.id, 'spiffe://ids.test/agent/nobody');
  writeFileSync(list.file, edited);
  t.throws(() => parseIdentityList(edited, list.certPem), IdentityListError);
  revocations.refresh();
  t.equal(revocations.refusal({ ...demo, id: 'spiffe://ids.test/agent/other' }), 'revocation list unusable', 'fails closed');
  t.match(problems[0], /refusing all agents and tokens/);
  const foreign = createCa('ids.test');
  const forged = buildIdentityList({ identities: [], tokens: [] }, foreign.keyPem);
  t.throws(() => parseIdentityList(forged, list.certPem), /does not verify/, 'signed by another key');
  rmSync(list.file);
  revocations.refresh();
  t.equal(revocations.refusal({ ...demo, id: 'spiffe://ids.test/agent/other' }), 'revocation list unusable', 'a missing list fails closed too');
  revocations.close();
});
