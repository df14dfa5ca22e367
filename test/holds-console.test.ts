/**
 * The approvals console in a real headless Chromium: a person sees the held
 * call of a real agent appear, approves it, and the waiting agent gets its
 * result; then reviews a tool changed upstream and approves its new definition.
 * The browser authenticates with the approver's admin certificate.
 */
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import { openBrowser, needsChromium } from './fixtures/console-browser.js';
import { startEnforcedGateway } from './fixtures/enforce-gateway.js';
import { connectClient, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

function text(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

t.test(
  'a person approves a held call and a changed tool in the web console (headless Chromium)',
  needsChromium,
  async (t) => {
    const g = await startEnforcedGateway(t);
    const origin = g.gateway.url;
    const agent = await connectClient(t, `${origin}/mcp/everything`, { ca: g.ca, ...g.issue('demo') });
    t.ok((await agent.listTools()).tools.length > 0, 'agent connected');

    const { page, scriptErrors } = await openBrowser(t, origin, { certPath: g.alice.cert, keyPath: g.alice.key });

    await page.goto(`${origin}/admin/console`);
    await page.getByText(`Signed in as spiffe://${TRUST_DOMAIN}/admin/alice.`).waitFor({ timeout: 20_000 });
    t.ok(await page.locator('#holds-empty').isVisible(), 'nothing is waiting yet');

    // The agent's call arrives while the page is open: it must appear live.
    const proposed = g.nextHold();
    const call = agent.callTool({ name: 'get-sum', arguments: { a: 19, b: 23 } });
    const hold = await proposed;
    const card = page.locator(`li.hold[data-id="${hold.id}"]`);
    await card.waitFor({ timeout: 20_000 });
    t.equal(await card.locator('.tool').textContent(), 'get-sum');
    t.equal(await card.locator('.server').textContent(), 'on everything');
    t.equal(await card.locator('.agent').textContent(), `demo (spiffe://${TRUST_DOMAIN}/agent/demo)`);
    t.equal(await card.locator('.reasons').textContent(), 'get-sum needs a person');
    t.match(await card.locator('.time-left').textContent(), /\d+ (min|s)/);
    t.same(JSON.parse((await card.locator('.arguments').textContent()) ?? 'null'), { a: 19, b: 23 });

    await card.locator('textarea.reason').fill('checked the numbers');
    await card.locator('button.approve').click();
    t.equal(text(await call), 'The sum of 19 and 23 is 42.', 'the waiting agent gets its result');
    await page.getByText('Approved get-sum.').waitFor({ timeout: 20_000 });
    t.equal(await card.count(), 0, 'the card is gone');
    const decided = g.gateway.enforcement.holds.get(hold.id);
    t.same([decided?.decided_by, decided?.decision_reason, decided?.state], [`spiffe://${TRUST_DOMAIN}/admin/alice`, 'checked the numbers', 'returned']);

    // A tool changes upstream: the operator reviews the diff in the console and approves it.
    const rugpull = await connectClient(t, `${origin}/mcp/rugpull`, { ca: g.ca, ...g.issue('demo') });
    t.ok((await rugpull.listTools()).tools.some((tool) => tool.name === 'add'), 'pinned at first listing');
    const changed = new Promise<void>((resolve) => rugpull.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    await rugpull.callTool({ name: 'rugpull', arguments: {} });
    await changed;
    t.notOk((await rugpull.listTools()).tools.some((tool) => tool.name === 'add'), 'quarantined');
    const quarantined = page.locator('li.quarantined', { hasText: 'add' });
    await quarantined.waitFor({ timeout: 20_000 });
    t.match(await quarantined.locator('.change').textContent(), 'definition changed');
    t.match(await quarantined.locator('.flags').textContent(), 'hidden-instructions');
    t.match(await quarantined.locator('.diff .add').allTextContents(), [/IMPORTANT/]);
    t.match(await quarantined.locator('.diff .del').allTextContents(), [/Adds two numbers\."/]);
    await quarantined.locator('button.approve-tool').click();
    await page.getByText('Approved the new definition of add.').waitFor({ timeout: 20_000 });
    t.equal(g.gateway.enforcement.pins.status('rugpull', 'add').state, 'pinned');
    t.ok((await rugpull.listTools()).tools.some((tool) => tool.name === 'add'), 'visible again');
    t.same(scriptErrors, [], 'no script errors or CSP violations');
  },
);
