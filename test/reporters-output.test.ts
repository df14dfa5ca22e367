/**
 * `portcullis report` end to end over a deployment with a known trail: the
 * signed JSON verifies and a changed copy does not; OSCAL output validates
 * against NIST's assessment-results schema; the HTML, opened in headless
 * Chromium, has every chart drawn; the PDF printed from it says what the
 * report says (pdftotext); `all` writes one report per framework.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { chromium } from 'playwright-core';
import t from 'tap';
import { run } from '../gateway/cli/report.js';
import { buildReportDeployment, TRAIL } from './fixtures/report-trail.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCHEMA = path.join(import.meta.dirname, 'fixtures/oscal/oscal_assessment-results_schema.json');

function hasProgram(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function report(args: string[]): Promise<Captured> {
  const captured = { out: '', err: '' };
  const code = await run(args, { out: (text) => (captured.out += String(text)), err: (text) => (captured.err += text) });
  return { code, ...captured };
}

t.test('reports from the command line', async (t) => {
  const d = await buildReportDeployment(t);
  const file = (name: string): string => path.join(d.dir, name);

  t.test('a signed JSON report verifies; a changed one does not', async (t) => {
    const made = await report(['iso42001', '--config', d.configFile, '--out', file('r.json')]);
    t.equal(made.code, 0, made.err);
    const signed = JSON.parse(readFileSync(file('r.json'), 'utf8')) as { controls: Array<{ id: string; figures: Record<string, unknown> }>; signature: { jws: string } };
    t.match(signed.controls.find((c) => c.id === 'A.9.2')?.figures, { approved: 1, expired: 1, median_decision_s: TRAIL.approvedAfterS });
    const good = await report(['verify', file('r.json'), '--config', d.configFile]);
    t.equal(good.code, 0);
    t.match(good.out, /^OK: signed by \S+, sha256 [0-9a-f]{64}; the report states its audit trail verified/);

    const oversight = signed.controls.find((c) => c.id === 'A.9.2');
    if (oversight) oversight.figures.expired = 0;
    writeFileSync(file('forged.json'), JSON.stringify(signed));
    const forged = await report(['verify', file('forged.json'), '--config', d.configFile]);
    t.equal(forged.code, 1);
    t.match(forged.out, /FAILED: the report was changed after it was signed/);

    writeFileSync(file('other-key.pem'), readFileSync(path.join(d.dir, 'certs/ca.pem')));
    const otherKey = await report(['verify', file('r.json'), '--key', file('other-key.pem')]);
    t.equal(otherKey.code, 1, 'another key does not verify it');
  });

  t.test('usage errors are usage errors', async (t) => {
    await t.rejects(report(['iso9001']), /unknown framework/);
    await t.rejects(report(['gdpr', '--format', 'docx', '--config', d.configFile]), /--format must be one of/);
    await t.rejects(report(['all', '--config', d.configFile]), /give a folder with --out/);
  });

  t.test('OSCAL assessment results validate against the NIST schema', async (t) => {
    const made = await report(['gdpr', '--config', d.configFile, '--format', 'oscal', '--subject', TRAIL.subject]);
    t.equal(made.code, 0, made.err);
    const document = JSON.parse(made.out) as { 'assessment-results': { results: Array<{ findings: Array<{ target: { 'target-id': string; status: { state: string } } }> }> } };
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
    t.ok(validate(document), JSON.stringify(validate.errors?.slice(0, 3)));
    const findings = document['assessment-results'].results[0]?.findings ?? [];
    t.same(findings.map((f) => f.target['target-id']), ['gdpr-Art.-30', 'gdpr-Art.-32', 'gdpr-Art.-5-1-c', 'gdpr-Art.-15', 'gdpr-Art.-33']);
    t.equal(findings[0]?.target.status.state, 'satisfied', 'Art. 30 met');
    writeFileSync(file('r.oscal.json'), made.out);
    t.equal((await report(['verify', file('r.oscal.json'), '--config', d.configFile])).code, 0, 'the signed report inside the OSCAL document verifies');
  });

  t.test('all writes one report per framework', async (t) => {
    const made = await report(['all', '--config', d.configFile, '--out', file('all')]);
    t.equal(made.code, 0, made.err);
    t.same(readdirSync(file('all')).sort(), ['dpga.json', 'gdpr.json', 'iso27001.json', 'iso42001.json', 'owasp-mcp.json']);
  });

  const chromiumSkip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM}: install the Debian chromium package to run this test`;

  t.test('the HTML report has every chart drawn (headless Chromium)', { skip: chromiumSkip }, async (t) => {
    const made = await report(['iso27001', '--config', d.configFile, '--format', 'html', '--out', file('r.html')]);
    t.equal(made.code, 0, made.err);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`file://${file('r.html')}`);
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => ({
        id: f.getAttribute('data-chart'),
        marks: f.querySelectorAll('svg g[class*="mark-"] > path, svg g[class*="mark-"] > rect, svg g[class*="mark-"] > g').length,
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
    );
    t.same(charts.map((c) => c.id), ['decisions_over_time', 'denials_by_reason', 'holds_by_outcome', 'hold_decision_seconds', 'access_heat_map', 'redactions_by_kind']);
    for (const chart of charts) t.ok(chart.marks > 0 && chart.width > 100, `${chart.id}: ${chart.marks} marks drawn`);
    t.equal(await page.locator('#audit-statement').getAttribute('class'), 'audit verified');
    // fsync is never here: A.8.9 and A.8.15 are partly met, the other 11 met.
    t.equal(await page.locator('.tile[data-status="met"] .n').textContent(), '11');
    t.equal(await page.locator('.tile[data-status="partly"] .n').textContent(), '2');
    t.equal(await page.locator('tr.control[data-control="A.8.15"]').getAttribute('data-status'), 'partly');
    const shot = await page.screenshot({ fullPage: true, path: file('r.png') });
    t.ok(shot.subarray(1, 4).toString() === 'PNG' && shot.length > 20_000, `a screenshot of the drawn report (${shot.length} bytes)`);
    t.equal((await report(['verify', file('r.html'), '--config', d.configFile])).code, 0, 'the signed report inside the HTML verifies');
  });

  t.test('the PDF says what the report says (pdftotext)', { skip: chromiumSkip || (hasProgram('pdftotext') ? false : 'pdftotext is not installed: apt-get install poppler-utils') }, async (t) => {
    const made = await report(['iso42001', '--config', d.configFile, '--format', 'pdf', '--out', file('r.pdf')]);
    t.equal(made.code, 0, made.err);
    t.equal(readFileSync(file('r.pdf')).subarray(0, 5).toString(), '%PDF-');
    // Table cells wrap: compare with runs of white space made one space.
    const text = execFileSync('pdftotext', [file('r.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    for (const expected of ['ISO/IEC 42001:2023', 'Audit trail: verified', 'A.9.2', 'Human oversight of AI system use', 'median decision s: 40', 'expired: 1', 'Tool calls by agent and server']) {
      t.ok(text.includes(expected), `the PDF says "${expected}"`);
    }
  });
});
