/**
 * Reporters hosted by the appliance: a real gateway with a `reports`
 * section runs the reporter, which reads the evidence through the admin
 * evidence API with its own reporter-<framework> certificate. Every read is
 * in the audit trail under that identity; the report is signed, written and
 * indexed; identities that are not readers are refused.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FRAMEWORKS } from '../agents/reporters/index.js';
import { REPORT_FRAMEWORKS } from '../gateway/config/reports-schema.js';
import { queryAudit } from '../gateway/audit/query.js';
import { connectClient, startTestGateway, tlsFetch, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import { run as report } from '../gateway/cli/report.js';

const CSRF = { 'x-portcullis-csrf': '1' };

t.test('the reports section names exactly the shipped frameworks', async (t) => {
  t.same([...REPORT_FRAMEWORKS].sort(), [...FRAMEWORKS].sort());
});

t.test('a hosted reporter reads evidence with its own identity, and is audited', async (t) => {
  const g = await startTestGateway(t, {
    audit: { dir: 'var/audit', fsync: 'always' },
    reports: { frameworks: ['iso42001'], schedule: '0 3 * * *', formats: ['json', 'oscal'], dir: 'var/reports' },
  });
  const host = g.gateway.reports;
  t.ok(host, 'the reports section starts a report host');
  if (host === undefined) return;

  // Some traffic first: an agent lists and calls a tool.
  const agent = await connectClient(t, `${g.gateway.url}/mcp/everything`, { ca: g.ca, ...g.issue('demo') });
  await agent.callTool({ name: 'echo', arguments: { message: 'hello' } });

  const [entry] = await host.runNow();
  t.match(entry, { framework: 'iso42001', audit: 'verified', files: { json: 'iso42001.json', oscal: 'iso42001.oscal.json' } });
  const index = JSON.parse(readFileSync(path.join(host.dir, 'index.json'), 'utf8')) as { reports: Array<{ id: string; framework: string }> };
  t.same(index.reports.map((r) => r.framework), ['iso42001'], 'the index lists the report');
  const signed = readFileSync(path.join(host.dir, entry?.id ?? '', 'iso42001.json'), 'utf8');
  t.match(JSON.parse(signed), { report: { source: 'gateway' }, signature: { jws: String } });

  await g.gateway.audit?.flush();
  const reads = [];
  for await (const record of queryAudit(path.join(g.dir, 'var/audit'), { type: 'event' })) {
    if ((record as { control?: string }).control === 'evidence') reads.push((record as unknown as { details: { reader: string; section: string } }).details);
  }
  const reporter = `spiffe://${TRUST_DOMAIN}/agent/reporter-iso42001`;
  t.same(reads.map((r) => [r.reader, r.section]), ['audit', 'config', 'policy', 'pki', 'holds', 'pins', 'metrics'].map((s) => [reporter, s]), 'each section read is on record under the reporter identity');

  t.test('who may read evidence', async (t) => {
    const url = `${g.gateway.url}/admin/evidence/config`;
    const asAgent = await tlsFetch(t, { ca: g.ca, ...g.issue('demo') })(url, { headers: CSRF });
    t.equal(asAgent.status, 403, 'an agent is not a reader');
    const otherReporter = await tlsFetch(t, { ca: g.ca, ...g.issue('reporter-gdpr') })(url, { headers: CSRF });
    t.equal(otherReporter.status, 403, 'a reporter of a framework the section does not run is not a reader');
    const anonymous = await tlsFetch(t, { ca: g.ca })(url, { headers: CSRF });
    t.equal(anonymous.status, 401);
    const listing = await tlsFetch(t, { ca: g.ca, ...g.issue('reporter-iso42001') })(`${g.gateway.url}/admin/reports`, { headers: CSRF });
    t.same(((await listing.json()) as { reports: Array<{ framework: string }> }).reports.map((r) => r.framework), ['iso42001'], 'the report index is served');
  });

  t.test('the hosted report verifies with the gateway certificate', async (t) => {
    const out: string[] = [];
    const code = await report(['verify', path.join(host.dir, entry?.id ?? '', 'iso42001.json'), '--key', g.pki.serverCert], { out: (s) => out.push(String(s)), err: () => undefined });
    t.equal(code, 0, out.join(''));
  });
});
