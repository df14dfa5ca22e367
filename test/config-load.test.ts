/** portcullis.yaml: parsed once, validated against the composed schema, defaulted and frozen. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { configFromObject, ConfigError, loadConfigFile } from '../gateway/config/load.js';
import { ROOT } from './fixtures/gateway-harness.js';

t.test('the default portcullis.yaml is valid and filled with defaults', async (t) => {
  const config = loadConfigFile(path.join(ROOT, 'portcullis.yaml'));
  t.match(config.listen, { host: '127.0.0.1', port: 8443, auth: 'mtls', sessions: 'stateful', body_limit_bytes: 4_194_304 });
  t.same(Object.keys(config.upstreams).sort(), ['everything', 'filesystem']);
  t.match(config.upstreams.filesystem, { stdio: { command: 'node', env_allow: [] }, timeout_ms: 60_000 });
  t.equal(config.base_dir, ROOT);
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.listen) && Object.isFrozen(config.upstreams.everything?.stdio?.args));
});

t.test('unknown keys are rejected with their path', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ lisen: {} }, /unknown key "lisen"/],
    [{ listen: { prot: 1 } }, /unknown key "listen\.prot"/],
    [{ upstreams: { fs: { stdio: { command: 'x', envv: [] } } } }, /unknown key "upstreams\.fs\.stdio\.envv"/],
    [{ upstreams: { fs: { stdio: { command: 'x' }, http: { url: 'https://x' } } } }, /upstreams\.fs.*exactly one/],
    [{ upstreams: { Bad_Name: { stdio: { command: 'x' } } } }, /invalid name "Bad_Name" under "upstreams"/],
    [{ listen: { port: 70000 } }, /"listen\.port" must be <= 65535/],
    [{ upstreams: { fs: { stdio: {} } } }, /missing key "upstreams\.fs\.stdio\.command"/],
  ];
  for (const [doc, message] of cases) {
    t.throws(() => configFromObject(doc, '/tmp'), message, JSON.stringify(doc));
    t.throws(() => configFromObject(doc, '/tmp'), ConfigError);
  }
});

t.test('file problems name the file', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'portcullis.yaml');
  writeFileSync(file, 'listen: [unclosed');
  t.throws(() => loadConfigFile(file), /portcullis\.yaml: not valid YAML/);
  writeFileSync(file, 'listen:\n  port: 1\nlisten:\n  port: 2\n');
  t.throws(() => loadConfigFile(file), /not valid YAML/, 'duplicate keys refused');
  t.throws(() => loadConfigFile(path.join(dir, 'missing.yaml')), /missing\.yaml: cannot read \(ENOENT\)/);
  writeFileSync(file, '- a list\n');
  t.throws(() => loadConfigFile(file), /must be a mapping/);
});
