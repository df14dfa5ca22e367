/**
 * The hosted reports over the admin API of a real gateway: the index is
 * listed and each indexed file served to auditors only, always as a
 * download with its content type and a sandbox CSP; anything the index does
 * not list is refused without touching the filesystem, and every download
 * is on the audit trail.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { queryAudit } from '../gateway/audit/query.js';
import { tlsFetch, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import { startReportsGateway } from './fixtures/reports-gateway.js';

const CSRF = { 'x-portcullis-csrf': '1' };

t.test('reports are listed and downloaded by auditors only, from the index only', async (t) => {
  const { g, host, entry, admins } = await startReportsGateway(t, ['json', 'html', 'oscal']);
  const as = {
    alice: tlsFetch(t, { ca: g.ca, ...admins.alice }),
    bob: tlsFetch(t, { ca: g.ca, ...admins.bob }),
    anonymous: tlsFetch(t, { ca: g.ca }),
  };
  const url = (id: string, file: string): string => `${g.gateway.url}/admin/reports/${id}/${file}`;
  const errorOf = async (res: Response): Promise<[number, string]> => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

  t.test('the index is listed for auditors', async (t) => {
    const listing = await as.alice(`${g.gateway.url}/admin/reports`, { headers: CSRF });
    t.equal(listing.status, 200);
    t.same(((await listing.json()) as { reports: unknown[] }).reports, [entry], 'the entry the host wrote');
    t.same(await errorOf(await as.bob(`${g.gateway.url}/admin/reports`, { headers: CSRF })), [403, 'not-an-auditor'], 'an approver without the auditor role may not list them');
    t.same(await errorOf(await as.anonymous(`${g.gateway.url}/admin/reports`, { headers: CSRF })), [401, 'unauthenticated']);
  });

  t.test('each indexed file is a download with its type, under a sandbox CSP', async (t) => {
    const types = { json: 'application/json', html: 'text/html; charset=utf-8', oscal: 'application/json' };
    t.same(Object.keys(entry.files).sort(), Object.keys(types).sort());
    for (const [format, type] of Object.entries(types)) {
      const name = entry.files[format as keyof typeof entry.files] ?? '';
      const res = await as.alice(url(entry.id, name), { headers: CSRF });
      t.equal(res.status, 200, name);
      t.equal(res.headers.get('content-type'), type, `${name}: ${type}`);
      t.equal(res.headers.get('content-disposition'), `attachment; filename="${name}"`, `${name}: a download, never rendered in the console's origin`);
      t.match(res.headers.get('content-security-policy'), /sandbox/);
      t.equal(res.headers.get('x-content-type-options'), 'nosniff');
      t.ok(Buffer.from(await res.arrayBuffer()).equals(readFileSync(path.join(host.dir, entry.id, name))), `${name}: the file's bytes`);
    }
  });

  t.test('refusals', async (t) => {
    const json = entry.files.json ?? '';
    t.same(await errorOf(await as.anonymous(url(entry.id, json), { headers: CSRF })), [401, 'unauthenticated'], 'no credentials');
    t.same(await errorOf(await as.bob(url(entry.id, json), { headers: CSRF })), [403, 'not-an-auditor'], 'not an auditor');
    t.same(await errorOf(await as.alice(url('2000-01-01T00-00-00-000Z', json), { headers: CSRF })), [404, 'not-found'], 'an unknown run id');
    t.same(await errorOf(await as.alice(url(entry.id, 'gdpr.json'), { headers: CSRF })), [404, 'not-found'], 'a file the entry does not list');
    // A file in the run's folder that the index does not list is never served.
    writeFileSync(path.join(host.dir, entry.id, 'planted.json'), '{"secret":true}');
    t.same(await errorOf(await as.alice(url(entry.id, 'planted.json'), { headers: CSRF })), [404, 'not-found'], 'only what the index lists');
    t.same(await errorOf(await as.alice(url(entry.id, 'index.json'), { headers: CSRF })), [404, 'not-found']);
    for (const file of ['..%2F..%2Fcerts%2Fca-key.pem', '..%2Findex.json', '%2Fetc%2Fpasswd']) {
      const res = await as.alice(url(entry.id, file), { headers: CSRF });
      t.equal(res.status, 400, `${file}: refused by the route's schema`);
      t.notMatch(await res.text(), /PRIVATE KEY|root:|"reports"/, 'and nothing of the file');
    }
  });

  t.test('every download is on the audit trail, under the reader', async (t) => {
    await g.gateway.audit?.flush();
    const downloads: Array<Record<string, unknown>> = [];
    for await (const record of queryAudit(path.join(g.dir, 'var/audit'), { type: 'event' })) {
      const details = (record as unknown as { control?: string; details: Record<string, unknown> }).details;
      if ((record as { control?: string }).control === 'evidence' && details.section === 'report') downloads.push(details);
    }
    const alice = `spiffe://${TRUST_DOMAIN}/admin/alice`;
    t.same(
      downloads.map((d) => [d.reader, d.report, d.file]),
      ['iso42001.json', 'iso42001.html', 'iso42001.oscal.json'].map((file) => [alice, entry.id, file]),
      'one record per served file; refusals read nothing',
    );
  });
});
