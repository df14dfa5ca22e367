/**
 * The approval console's script without a browser (holds-console.test.ts
 * runs the real page where Chromium is installed): the script runs in a VM
 * against a minimal stand-in of the page's elements and a scripted admin API.
 * A visitor who is not signed in is told to sign in, not that nothing waits;
 * an identity the gateway refuses is told why; a held call shows why it is held;
 * the reports view shows the index to auditors and tells anyone else why not.
 */
import vm from 'node:vm';
import t from 'tap';
import { CONSOLE_JS } from '../gateway/holds/console/console.js.js';
import { CONSOLE_HTML } from '../gateway/holds/console/page.html.js';
import { REPORTS_JS } from '../gateway/holds/console/reports.js.js';

/** Just what console.js touches: text, visibility, children found by selector, listeners. */
class FakeElement {
  textContent = '';
  hidden = false;
  value = '';
  disabled = false;
  dataset: Record<string, string> = {};
  removed = false;
  readonly children = new Map<string, FakeElement>();
  readonly appended: FakeElement[] = [];

  querySelector(selector: string): FakeElement {
    let child = this.children.get(selector);
    if (child === undefined) this.children.set(selector, (child = new FakeElement()));
    return child;
  }
  querySelectorAll(): FakeElement[] {
    return [];
  }
  addEventListener(): void {}
  append(node: FakeElement): void {
    this.appended.push(node);
  }
  remove(): void {
    this.removed = true;
  }
  /** For <template>: `content.firstElementChild.cloneNode(true)` gives a fresh card. */
  get content(): { firstElementChild: { cloneNode: () => FakeElement } } {
    return { firstElementChild: { cloneNode: () => new FakeElement() } };
  }
}

/** Elements by id, with the text and `hidden` the page's HTML gives them. */
function pageElements(): Map<string, FakeElement> {
  const elements = new Map<string, FakeElement>();
  for (const match of CONSOLE_HTML.matchAll(/<(\w+) id="([^"]+)"([^>]*)>([^<]*)/g)) {
    const element = new FakeElement();
    element.textContent = match[4] ?? '';
    element.hidden = / hidden/.test(match[3] ?? '');
    elements.set(`#${match[2]}`, element);
  }
  return elements;
}

type Answer = { status: number; body: unknown };

/** A DOM event with a detail, as console.js announces the session. */
class FakeCustomEvent {
  constructor(
    readonly type: string,
    init: { detail: unknown },
  ) {
    this.detail = init.detail;
  }
  readonly detail: unknown;
}

/**
 * Runs the script (with the reports view after it, when `withReports`) once
 * through its first refresh; `answer` plays the admin API.
 */
async function openConsole(answer: (path: string, headers: Record<string, string>) => Answer, token?: string, withReports = false) {
  const elements = pageElements();
  const storage = new Map<string, string>(token === undefined ? [] : [['portcullis-admin-token', token]]);
  let refreshed!: () => void;
  const firstRefresh = new Promise<void>((resolve) => (refreshed = resolve));
  const listeners = new Map<string, Array<(event: FakeCustomEvent) => unknown>>();
  const handled: unknown[] = [];
  const context = {
    document: {
      querySelector: (selector: string) => elements.get(selector) ?? new FakeElement(),
      createElement: () => new FakeElement(),
      addEventListener: (type: string, listener: (event: FakeCustomEvent) => unknown) => listeners.set(type, [...(listeners.get(type) ?? []), listener]),
      dispatchEvent: (event: FakeCustomEvent) => {
        for (const listener of listeners.get(event.type) ?? []) handled.push(listener(event));
        return true;
      },
    },
    CustomEvent: FakeCustomEvent,
    sessionStorage: {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => storage.set(key, value),
      removeItem: (key: string) => storage.delete(key),
    },
    fetch: async (path: string, init: { headers: Record<string, string> }) => {
      const { status, body } = answer(path, init.headers);
      return { ok: status < 400, status, json: async () => body };
    },
    // poll() schedules its next round once the first refresh is done: stop there.
    setTimeout: () => refreshed(),
  };
  const realm = vm.createContext(context);
  vm.runInContext(CONSOLE_JS, realm);
  if (withReports) vm.runInContext(REPORTS_JS, realm);
  await firstRefresh;
  // What the views did on hearing of the session (the reports view's own request) is done too.
  await Promise.all(handled);
  const element = (selector: string): FakeElement => elements.get(selector) as FakeElement;
  return { element, storage };
}

const refusal = (status: number, message: string): Answer => ({ status, body: { error: { code: 'x', message } } });

const hold = (id: string, reasons: string[]) => ({
  id,
  state: 'pending',
  agent_id: 'spiffe://portcullis.local/agent/demo',
  agent_name: 'demo',
  server: 'filesystem',
  method: 'tools/call',
  tool: 'write_file',
  arguments: { path: 'a.txt' },
  digest: 'ab'.repeat(32),
  revision: 'r',
  reasons,
  approvers: ['approver'],
  created_at: new Date().toISOString(),
  expires_at: new Date(Date.now() + 60_000).toISOString(),
});

t.test('signed out: the page asks to sign in instead of saying nothing waits', async (t) => {
  const page = await openConsole(() => refusal(401, 'an admin token or admin client certificate is required'));
  t.equal(page.element('#holds-empty').textContent, 'Sign in to see waiting calls.');
  t.equal(page.element('#holds-empty').hidden, false);
  t.equal(page.element('#tools-empty').textContent, 'Sign in to see quarantined tools.');
  t.equal(page.element('#login').hidden, false, 'the sign-in form shows');
  t.equal(page.element('#status').textContent, 'Sign in to review calls.');
});

t.test('a refused token is said to be refused, and dropped', async (t) => {
  const page = await openConsole(() => refusal(401, 'an admin token or admin client certificate is required'), 'wrong-token-0123456789');
  t.equal(page.element('#status').textContent, 'That admin token was not accepted. Sign in to review calls.');
  t.equal(page.storage.size, 0, 'the next request may use a certificate instead');
  t.equal(page.element('#holds-empty').textContent, 'Sign in to see waiting calls.');
});

t.test('an identity that is not an approver is told so', async (t) => {
  const message = 'spiffe://portcullis.local/admin/mallory is not an approver (not listed under holds.approvers)';
  const page = await openConsole(() => refusal(403, message));
  t.equal(page.element('#status').textContent, `${message}. Sign in as an approver to review calls.`);
  t.equal(page.element('#holds-empty').textContent, 'Sign in to see waiting calls.');
  t.equal(page.element('#login').hidden, false);
});

t.test('signed in: each held call shows why it is held', async (t) => {
  const page = await openConsole((path) =>
    path.startsWith('/admin/holds')
      ? { status: 200, body: { now: new Date().toISOString(), principal: 'token:alice', holds: [hold('h1', ["high-risk tool: each call waits for a person's approval"]), hold('h2', [])] } }
      : { status: 200, body: { tools: [] } },
  );
  const cards = page.element('#holds').appended;
  t.equal(cards.length, 2);
  t.equal(cards[0]?.querySelector('.reasons').textContent, "high-risk tool: each call waits for a person's approval");
  t.equal(cards[1]?.querySelector('.reasons').textContent, 'the policy gave no reason', 'never a bare "-"');
  t.equal(page.element('#holds-empty').hidden, true);
  t.equal(page.element('#tools-empty').textContent, 'No tool is quarantined.');
  t.equal(page.element('#tools-empty').hidden, false);
  t.equal(page.element('#status').textContent, 'Signed in as token:alice.');
  t.equal(page.element('#login').hidden, true);
});

t.test('the reports view: shown to auditors, others told why, without asking the API', async (t) => {
  const asked: string[] = [];
  const signedInAs = (roles: string[]) => (path: string) => {
    asked.push(path);
    if (path.startsWith('/admin/holds')) return { status: 200, body: { now: new Date().toISOString(), principal: 'token:bob', roles, holds: [] } };
    if (path === '/admin/reports') return { status: 200, body: { reports: [report] } };
    return { status: 200, body: { tools: [] } };
  };
  const report = {
    id: '2026-11-03T03-00-00-000Z',
    framework: 'gdpr',
    generated_at: '2026-11-03T03:00:00.000Z',
    period: { from: '2026-11-02T03:00:00.000Z', to: '2026-11-03T03:00:00.000Z' },
    audit: 'verified',
    summary: { met: 4, partly: 1, 'not met': 0, 'not applicable': 2, 'insufficient evidence': 0 },
    sha256: 'ab'.repeat(32),
    files: { json: 'gdpr.json', html: 'gdpr.html' },
  };

  const approver = await openConsole(signedInAs(['approver']), undefined, true);
  t.equal(approver.element('#reports-empty').textContent, 'Reports are for auditors: token:bob does not have the auditor role.');
  t.equal(approver.element('#reports-empty').hidden, false);
  t.notOk(asked.includes('/admin/reports'), 'no request that would only be refused');

  const auditor = await openConsole(signedInAs(['approver', 'auditor']), undefined, true);
  t.ok(asked.includes('/admin/reports'), 'an auditor loads the index');
  const [card] = auditor.element('#reports').appended;
  t.equal(card?.querySelector('.framework').textContent, 'gdpr');
  t.equal(card?.querySelector('.audit').textContent, 'verified');
  t.same(
    card?.querySelector('.summary').appended.map((item) => item.textContent),
    ['4 met', '1 partly', '0 not met', '2 not applicable', '0 insufficient evidence'],
  );
  t.equal(auditor.element('#reports-empty').hidden, true);

  const signedOut = await openConsole(() => refusal(401, 'an admin token or admin client certificate is required'), undefined, true);
  t.equal(signedOut.element('#reports-empty').textContent, 'Sign in as an auditor to see reports.');
});
