import path from 'node:path';
import t from 'tap';
import { configFromObject, loadConfigFile } from '../gateway/config/load.js';
import { ROOT } from './fixtures/gateway-harness.js';

t.test('the default portcullis.yaml persists pins and holds', async (t) => {
  const config = loadConfigFile(path.join(ROOT, 'portcullis.yaml'));
  t.same(config.pinning, { file: 'var/pins.json' });
  t.match(config.holds, { file: 'var/holds.jsonl', approvers: {}, max_pending: 1000, max_timeout_s: 3600, progress_interval_s: 10 });
});

t.test('enforcement sections: defaults, and a clear error naming the bad key', async (t) => {
  const config = configFromObject({}, ROOT);
  t.same(config.pinning, {});
  t.match(config.holds, { approvers: {}, keep_finished: 10_000 });
  const bad: [unknown, RegExp][] = [
    [{ holds: { approvers: { alice: { roles: ['approver'], token_sha256: 'not-hex' } } } }, /holds\.approvers\.alice\.token_sha256/],
    [{ holds: { approvers: { alice: { roles: ['approver'], token: 'plain' } } } }, /unknown key "holds\.approvers\.alice\.token"/],
    [{ holds: { webhook: { url: 'ftp://x' } } }, /holds\.webhook\.url/],
    [{ holds: { max_pending: 0 } }, /holds\.max_pending/],
    [{ pinning: { file: '' } }, /pinning\.file/],
    [{ rate_limits: { per_agent: { capacity: 0, refill_per_s: 1 } } }, /rate_limits\.per_agent\.capacity/],
    [{ rate_limits: { per_server: { fs: { capacity: 5 } } } }, /missing key "rate_limits\.per_server\.fs\.refill_per_s"/],
  ];
  for (const [doc, message] of bad) t.throws(() => configFromObject(doc, ROOT), { name: 'ConfigError', message }, JSON.stringify(doc));
});
