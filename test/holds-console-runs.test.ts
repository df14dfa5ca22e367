/**
 * The console's runs view in a real headless Chromium: a person signed in
 * with an operator's admin certificate sees a run of the hosted
 * orchestrator with its task and the tool it calls, cancels it from the
 * page, and sees it end cancelled; no script error or CSP violation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startHostingGateway, waitingScript } from './fixtures/agents-host.js';
import { openBrowser, needsChromium } from './fixtures/console-browser.js';
import { TRUST_DOMAIN } from './fixtures/gateway-harness.js';

t.test(
  'a run shown and cancelled in the web console (headless Chromium)',
  needsChromium,
  async (t) => {
    const h = await startHostingGateway(t, waitingScript(60_000));
    const origin = h.g.gateway.url;
    // The admin certificate as files, the form the browser takes it in.
    const files = mkdtempSync(path.join(tmpdir(), 'portcullis-admin-'));
    t.teardown(() => rmSync(files, { recursive: true, force: true }));
    const certPath = path.join(files, 'alice.pem');
    const keyPath = path.join(files, 'alice-key.pem');
    writeFileSync(certPath, h.adminCert.cert);
    writeFileSync(keyPath, h.adminCert.key);
    const { page, scriptErrors } = await openBrowser(t, origin, { certPath, keyPath });

    await page.goto(`${origin}/admin/console`);
    await page.getByText(`Signed in as spiffe://${TRUST_DOMAIN}/admin/alice.`).waitFor({ timeout: 30_000 });
    await page.getByText('No run yet.').waitFor({ timeout: 30_000 });

    const started = await h.api('POST', '/admin/runs', { agent: 'lead', task: 'wait in the console' });
    const id: string = started.body.run.id;
    const card = page.locator(`li.run[data-id="${id}"]`);
    const row = card.locator('tr[data-task="wait"]');
    await row.getByText('calling probe__wait').waitFor({ timeout: 60_000 });
    t.equal(await card.locator('.agent').textContent(), 'lead');
    t.equal(await card.locator('.task').textContent(), 'wait in the console');
    t.match(await card.locator('.run-status').textContent(), /^running \(working/);
    t.same(await row.locator('td').allTextContents().then((cells) => [cells[0], cells[1], cells[2], cells[4]]), ['wait', 'waiter', 'running', 'calling probe__wait']);

    await card.locator('button.cancel').click();
    await page.getByText(`Cancelled run ${id}.`).waitFor({ timeout: 30_000 });
    await card.locator('.run-status').getByText('cancelled', { exact: true }).waitFor({ timeout: 60_000 });
    t.equal(await row.locator('td').nth(2).textContent(), 'cancelled', 'the task ended cancelled');
    t.notOk(await card.locator('button.cancel').isVisible(), 'an ended run has no Cancel button');
    t.same(scriptErrors, [], 'no script errors or CSP violations');
  },
);
