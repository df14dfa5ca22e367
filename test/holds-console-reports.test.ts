/**
 * The console's reports view in a real headless Chromium: an auditor signed
 * in with an admin certificate sees the hosted report the index lists (its
 * framework, period, creation time, audit verification and scorecard) and
 * downloads its files; the HTML report is saved, never opened in the
 * console's origin; no script error or CSP violation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { needsChromium, openBrowser } from './fixtures/console-browser.js';
import { tlsFetch, TRUST_DOMAIN } from './fixtures/gateway-harness.js';
import { startReportsGateway } from './fixtures/reports-gateway.js';

t.test('hosted reports listed and downloaded in the web console (headless Chromium)', needsChromium, async (t) => {
  const { g, host, entry, admins } = await startReportsGateway(t, ['json', 'html', 'pdf']);
  const origin = g.gateway.url;
  const { page, scriptErrors } = await openBrowser(t, origin, { certPath: admins.alice.certPath, keyPath: admins.alice.keyPath });

  await page.goto(`${origin}/admin/console`);
  await page.getByText(`Signed in as spiffe://${TRUST_DOMAIN}/admin/alice.`).waitFor({ timeout: 30_000 });
  const card = page.locator(`li.report[data-id="${entry.id}"][data-framework="iso42001"]`);
  await card.waitFor({ timeout: 30_000 });
  t.notOk(await page.locator('#reports-empty').isVisible(), 'the list is not empty');
  t.equal(await card.locator('.framework').textContent(), 'iso42001');
  t.equal(await card.locator('.period').textContent(), `${entry.period.from} to ${entry.period.to}`);
  t.equal(await card.locator('.created').textContent(), entry.generated_at);
  t.equal(await card.locator('.audit').textContent(), 'verified', 'the audit verification the report states');
  const counts = await card.locator('.summary .count').allTextContents();
  t.same(
    counts,
    Object.entries(entry.summary).map(([status, n]) => `${n} ${status}`),
    'the scorecard: controls per status',
  );
  t.ok(Object.values(entry.summary).some((n) => n > 0), 'a scorecard with controls in it');
  const formats = await Promise.all((await card.locator('button.download').all()).map((button) => button.getAttribute('data-format')));
  t.same(formats, ['json', 'html', 'pdf'], 'a download per file of the entry');

  for (const format of ['html', 'pdf', 'json'] as const) {
    const name = entry.files[format] ?? '';
    const [download] = await Promise.all([page.waitForEvent('download'), card.locator(`button.download[data-format="${format}"]`).click()]);
    t.equal(download.suggestedFilename(), name, `${format}: saved as ${name}`);
    const saved = await download.path();
    t.ok(readFileSync(saved).equals(readFileSync(path.join(host.dir, entry.id, name))), `${format}: the report file's bytes`);
  }
  t.equal(page.url(), `${origin}/admin/console`, 'the console stayed where it was: nothing was opened');
  t.equal(await card.locator('.error').textContent(), '');

  const pdf = await tlsFetch(t, { ca: g.ca, cert: admins.alice.cert, key: admins.alice.key })(`${origin}/admin/reports/${entry.id}/${entry.files.pdf ?? ''}`, { headers: { 'x-portcullis-csrf': '1' } });
  t.same([pdf.status, pdf.headers.get('content-type')], [200, 'application/pdf']);
  t.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString(), '%PDF-');
  t.same(scriptErrors, [], 'no script errors or CSP violations');
});
