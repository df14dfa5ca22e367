import t from 'tap';
import type { Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../gateway/cli/policy.js';
import { readBundle } from '../gateway/policy/bundle/bundle.js';
import { initPki, pkiPaths } from '../gateway/pki/store.js';

const POLICY = `package portcullis
import rego.v1
decision := {"allow": input.agent.name in data.allowed, "reasons": []}
`;

const TESTS = `package portcullis_test
import rego.v1
test_alice_allowed if data.portcullis.decision.allow with input as {"agent": {"name": "alice"}}
test_bob_denied if not data.portcullis.decision.allow with input as {"agent": {"name": "bob"}}
todo_test_later if false
`;

function workspace(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'p.rego'), POLICY);
  writeFileSync(path.join(dir, 'p_test.rego'), TESTS);
  writeFileSync(path.join(dir, 'data.json'), JSON.stringify({ allowed: ['alice'] }));
  writeFileSync(path.join(dir, 'alice.json'), JSON.stringify({ agent: { name: 'alice' } }));
  return dir;
}

async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, stdin: () => stdin });
  return { code, out, err };
}

t.test('policy test prints each result and a summary; failures exit non-zero', async (t) => {
  const dir = workspace(t);
  const ok = await cli(['test', dir, '-v']);
  t.equal(ok.code, 0);
  t.match(ok.out, /data\.portcullis_test\.test_alice_allowed: PASS/);
  t.match(ok.out, /data\.portcullis_test\.todo_test_later: SKIP/);
  t.match(ok.out, /PASS: 2\/3\nSKIPPED: 1\/3/);

  writeFileSync(path.join(dir, 'data.json'), JSON.stringify({ allowed: ['bob'] }));
  const failing = await cli(['test', dir]);
  t.equal(failing.code, 1);
  t.match(failing.out, /test_alice_allowed: FAIL/);
  t.match(failing.out, /test_bob_denied: FAIL/);
  t.match(failing.out, /FAIL: 2\/3/);

  const filtered = await cli(['test', dir, '--run', 'alice']);
  t.match(filtered.out, /FAIL: 1\/1/);

  writeFileSync(path.join(dir, 'p.rego'), 'package portcullis\ndecision := [');
  const broken = await cli(['test', dir]);
  t.equal(broken.code, 1);
  t.match(broken.err, /p\.rego:2:\d+: rego_parse_error/);
});

t.test('policy build → eval, as .wasm and as a bundle', async (t) => {
  const dir = workspace(t);
  const bundle = path.join(dir, 'out.tar.gz');
  const built = await cli(['build', dir, '-e', 'portcullis/decision', '-o', bundle]);
  t.equal(built.code, 0, built.err);
  t.match(built.out, /revision sha256:[0-9a-f]{64}/);
  t.same(readBundle(readFileSync(bundle)).manifest.wasm, [{ entrypoint: 'portcullis/decision', module: '/policy.wasm' }]);

  const evaluated = await cli(['eval', bundle, '--input', path.join(dir, 'alice.json')]);
  t.equal(evaluated.code, 0, evaluated.err);
  t.match(JSON.parse(evaluated.out), { result: { allow: true }, defined: true });

  const fromFolder = await cli(['eval', dir, '-e', 'portcullis/decision', '--input', '-'], JSON.stringify({ agent: { name: 'eve' } }));
  t.match(JSON.parse(fromFolder.out), { result: { allow: false } });

  const wasm = path.join(dir, 'out.wasm');
  t.equal((await cli(['build', dir, '-o', wasm])).code, 0);
  t.equal(readFileSync(wasm).subarray(0, 4).toString('hex'), '0061736d');
  const bad = await cli(['eval', wasm, '--input', '-'], '{not json');
  t.equal(bad.code, 1);
  t.match(bad.err, /not valid JSON/);
});

t.test('policy sign / verify with a PEM key and with the gateway PKI', async (t) => {
  const dir = workspace(t);
  const bundle = path.join(dir, 'out.tar.gz');
  await cli(['build', dir, '-o', bundle]);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(path.join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(path.join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));

  t.equal((await cli(['verify', bundle, '--key', path.join(dir, 'pub.pem')])).code, 1, 'unsigned');
  const signedPath = path.join(dir, 'signed.tar.gz');
  const signed = await cli(['sign', bundle, '--key', path.join(dir, 'key.pem'), '-o', signedPath]);
  t.equal(signed.code, 0, signed.err);
  t.match(signed.out, /ES256/);
  t.equal((await cli(['verify', signedPath, '--key', path.join(dir, 'pub.pem')])).code, 0);
  t.equal((await cli(['verify', signedPath, '--key', path.join(dir, 'pub.pem'), '--scope', 'other'])).code, 1);

  const pki = path.join(dir, 'certs');
  initPki(pkiPaths(pki), 'portcullis.test');
  t.equal((await cli(['sign', bundle, '--pki', pki])).code, 0);
  t.equal((await cli(['verify', bundle, '--pki', pki])).code, 0);
  const wrongKey = await cli(['verify', bundle, '--key', path.join(dir, 'pub.pem')]);
  t.equal(wrongKey.code, 1);
  t.match(wrongKey.err, /signature is invalid/);
});

t.test('usage errors exit 2 with the usage text', async (t) => {
  t.equal((await cli([])).code, 2);
  t.equal((await cli(['frobnicate'])).code, 2);
  const noOut = await cli(['build', 'policies']);
  t.equal(noOut.code, 2);
  t.match(noOut.err, /missing -o/);
  t.equal((await cli(['build', 'policies', '-o', 'x.zip'])).code, 2);
  t.equal((await cli(['eval', 'policies'])).code, 2);
  t.equal((await cli(['sign', 'x.tar.gz'])).code, 2);
  t.equal((await cli(['test', '--bogus'])).code, 2);
  const missing = await cli(['test', '/nonexistent/policies']);
  t.equal(missing.code, 1);
  t.match(missing.err, /cannot read policy folder/);
});
