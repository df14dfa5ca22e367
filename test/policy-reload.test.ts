import t from 'tap';
import type { Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildFolderBundle, locatePolicy } from '../gateway/policy/bundle/artifact.js';
import { readBundle, writeBundle, SIGNATURES_FILE } from '../gateway/policy/bundle/bundle.js';
import { PolicyReloader } from '../gateway/policy/reload.js';
import type { ReloadEvent } from '../gateway/policy/reload.js';
import { signBundleFiles, signingKey, verificationKey } from '../gateway/policy/bundle/signing.js';
import type { PolicyInput } from '../gateway/policy/engine/decision.js';

const policy = (allowed: string): string => `package portcullis
import rego.v1
decision := {"allow": input.agent.name == "${allowed}", "reasons": []}
`;

const TESTS = `package portcullis_test
import rego.v1
test_alice_allowed if data.portcullis.decision.allow with input as {"agent": {"name": "alice"}}
`;

const ask = (name: string): PolicyInput => ({
  agent: { id: name, name, auth: 'mtls', roles: [] },
  message: { direction: 'request', kind: 'request', method: 'ping', server: '*' },
  context: { time_ns: 0 },
});

function folder(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-reload-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'p.rego'), policy('alice'));
  writeFileSync(path.join(dir, 'p_test.rego'), TESTS);
  return dir;
}

function recordEvents(reloader: PolicyReloader): ReloadEvent[] {
  const events: ReloadEvent[] = [];
  reloader.on('reload', (e: ReloadEvent) => events.push(e));
  return events;
}

t.test('a folder policy loads, swaps on change and keeps running on bad versions', async (t) => {
  const dir = folder(t);
  const reloader = new PolicyReloader(locatePolicy(dir), { runTests: true, onFailure: () => {} });
  t.teardown(() => reloader.close());
  const events = recordEvents(reloader);

  t.equal(reloader.decide(ask('alice')).allow, false, 'nothing loaded yet: deny');
  t.equal(reloader.revision, 'none');
  await reloader.start();
  const first = reloader.revision;
  t.match(first, /^sha256:[0-9a-f]{64}/);
  t.same(reloader.decide(ask('alice')), { allow: true, reasons: [], revision: first });
  t.equal((await reloader.reload()).result, 'unchanged');

  // A good new version: both policy and test change, swapped in atomically.
  writeFileSync(path.join(dir, 'p.rego'), policy('alice') + 'extra := 1\n');
  const good = await reloader.reload();
  t.equal(good.result, 'success');
  t.not(reloader.revision, first);
  const second = reloader.revision;
  t.equal(reloader.decide(ask('alice')).revision, second);

  // A version that does not compile.
  writeFileSync(path.join(dir, 'p.rego'), 'package portcullis\ndecision := {');
  const broken = await reloader.reload();
  t.equal(broken.result, 'failure');
  t.match(broken.reason, /p\.rego:\d+:\d+/);
  t.equal(reloader.revision, second);
  t.equal(reloader.decide(ask('alice')).allow, true);
  t.match(reloader.describe(), new RegExp(`^running revision ${second.replace(/[+]/g, '\\+')}, rejected revision sha256:[0-9a-f]{64}.* because p\\.rego:`));

  // A version that compiles but fails its Rego test.
  writeFileSync(path.join(dir, 'p.rego'), policy('bob'));
  const failing = await reloader.reload();
  t.equal(failing.result, 'failure');
  t.match(failing.reason, /1 Rego test\(s\) failed: data\.portcullis_test\.test_alice_allowed/);
  t.equal(reloader.revision, second);
  t.equal(reloader.decide(ask('bob')).allow, false, 'the rejected policy never decided');
  t.match(reloader.state(), { running: { revision: second }, rejected: { reason: /test_alice_allowed/ } });

  // Fixing it clears the rejection.
  writeFileSync(path.join(dir, 'p.rego'), policy('alice'));
  t.equal((await reloader.reload()).result, 'success');
  t.equal(reloader.state().rejected, undefined);
  t.same(events.map((e) => e.result), ['success', 'unchanged', 'success', 'failure', 'failure', 'success']);
});

t.test('the first load fails loudly when the policy cannot run', async (t) => {
  const dir = folder(t);
  writeFileSync(path.join(dir, 'p.rego'), policy('bob'));
  const reloader = new PolicyReloader(locatePolicy(dir), { runTests: true });
  await t.rejects(reloader.start(), { name: 'PolicyRejectedError', message: /test_alice_allowed/ });
  t.equal(reloader.decide(ask('bob')).allow, false);
});

t.test('watching the folder reloads after a change', async (t) => {
  const dir = folder(t);
  const reloader = new PolicyReloader(locatePolicy(dir), { runTests: true, debounceMs: 20 });
  t.teardown(() => reloader.close());
  await reloader.start();
  const before = reloader.revision;
  reloader.watch();
  // The watcher does not keep the process alive (the gateway's server does); this bound does.
  const controller = new AbortController();
  const bound = setTimeout(() => controller.abort(), 20_000);
  t.teardown(() => clearTimeout(bound));
  const reloaded = once(reloader, 'reload', { signal: controller.signal });
  writeFileSync(path.join(dir, 'p.rego'), policy('alice') + 'changed := true\n');
  const [event] = (await reloaded) as [ReloadEvent];
  t.equal(event.result, 'success');
  t.not(reloader.revision, before);
});

t.test('a signed bundle file: replaced by an unsigned one, the signed one keeps running', async (t) => {
  const dir = folder(t);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const key = signingKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const verification = { keys: { release: verificationKey(publicKey.export({ type: 'spki', format: 'pem' }).toString()) } };
  const { archive, revision } = buildFolderBundle(dir, ['portcullis/decision']);
  const files = new Map(readBundle(archive).files);
  files.set(SIGNATURES_FILE, new Uint8Array(Buffer.from(await signBundleFiles(files, key, { keyid: 'release' }))));
  const bundleFile = path.join(dir, 'policy.tar.gz');
  writeFileSync(bundleFile, writeBundle(files));

  const reloader = new PolicyReloader(locatePolicy(bundleFile), { verification, onFailure: () => {} });
  t.teardown(() => reloader.close());
  await reloader.start();
  t.equal(reloader.revision, revision);
  t.equal(reloader.decide(ask('alice')).allow, true);

  writeFileSync(bundleFile, archive);
  const refused = await reloader.reload();
  t.equal(refused.result, 'failure');
  t.match(refused.reason, /not signed/);
  t.equal(reloader.revision, revision);
  t.match(reloader.describe(), /rejected revision .* because bundle is not signed/);
});
