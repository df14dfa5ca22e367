/**
 * The console's browser script, served as /admin/console/console.js. Plain
 * ES2020 for any current browser; every value from the API is written with
 * textContent (never as HTML): arguments and descriptions are attacker-controlled.
 */
export const CONSOLE_JS = `'use strict';
(() => {
  const TOKEN_KEY = 'portcullis-admin-token';
  const POLL_MS = 1000;
  const $ = (selector) => document.querySelector(selector);
  const holdCards = new Map();
  const toolCards = new Map();
  let clockOffsetMs = 0;
  // A token the gateway refused is dropped (so a certificate can be used), and the page says so until the next sign-in.
  let tokenRefused = false;

  function requestHeaders(withBody) {
    // The custom header forces a CORS preflight that the gateway never grants: a CSRF guard.
    const headers = { accept: 'application/json', 'x-portcullis-csrf': '1' };
    if (withBody) headers['content-type'] = 'application/json';
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.authorization = 'Bearer ' + token;
    return headers;
  }

  // An admin API call signed in as this tab; a refusal is thrown with the gateway's message and status.
  async function send(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: requestHeaders(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch { data = null; }
      const error = new Error((data && data.error && data.error.message) || 'HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    return response;
  }

  async function api(method, path, body) {
    const response = await send(method, path, body);
    try { return await response.json(); } catch { return null; }
  }

  // The runs and reports views (runs.js, reports.js, loaded after this script) call the admin API the same way.
  globalThis.portcullisApi = api;
  globalThis.portcullisSend = send;

  function setStatus(text) { $('#status').textContent = text; }

  function timeLeft(expiresAt) {
    const ms = Date.parse(expiresAt) - (Date.now() + clockOffsetMs);
    if (ms <= 0) return 'expiring';
    const s = Math.ceil(ms / 1000);
    return (s >= 60 ? Math.floor(s / 60) + ' min ' : '') + (s % 60) + ' s';
  }

  function fromTemplate(id) { return $(id).content.firstElementChild.cloneNode(true); }

  function setButtons(node, disabled) { for (const b of node.querySelectorAll('button')) b.disabled = disabled; }

  function updateEmpty() {
    $('#holds-empty').hidden = holdCards.size > 0;
    $('#tools-empty').hidden = toolCards.size > 0;
  }

  // What the lists say when empty: only a signed-in approver knows that nothing waits.
  function setEmptyTexts(signedIn) {
    $('#holds-empty').textContent = signedIn ? 'No call is waiting.' : 'Sign in to see waiting calls.';
    $('#tools-empty').textContent = signedIn ? 'No tool is quarantined.' : 'Sign in to see quarantined tools.';
  }

  // The status line keeps the last thing a person did (an approval, a denial) until something
  // new happens: polling announces only a change of sign-in.
  let announcedSignIn = false;

  // Other views (reports.js) follow who is signed in, and with which roles; null: nobody.
  function announceSession(session) {
    document.dispatchEvent(new CustomEvent('portcullis-session', { detail: session }));
  }

  function signedOut(message) {
    announcedSignIn = false;
    announceSession(null);
    for (const cards of [holdCards, toolCards]) {
      for (const node of cards.values()) node.remove();
      cards.clear();
    }
    setEmptyTexts(false);
    $('#login').hidden = false;
    setStatus(message);
  }

  function holdCard(hold) {
    const node = fromTemplate('#hold-template');
    node.dataset.id = hold.id;
    node.querySelector('.tool').textContent = hold.tool || hold.method;
    node.querySelector('.server').textContent = 'on ' + hold.server;
    node.querySelector('.agent').textContent = hold.agent_name + ' (' + hold.agent_id + ')';
    node.querySelector('.reasons').textContent = hold.reasons.length ? hold.reasons.join('; ') : 'the policy gave no reason';
    node.querySelector('.digest').textContent = hold.digest;
    node.querySelector('.arguments').textContent = JSON.stringify(hold.arguments, null, 2);
    const decide = async (action) => {
      const reason = node.querySelector('.reason').value;
      const body = action === 'approve' ? { digest: hold.digest, revision: hold.revision, reason } : { reason };
      setButtons(node, true);
      try {
        await api('POST', '/admin/holds/' + encodeURIComponent(hold.id) + '/' + action, body);
        node.remove();
        holdCards.delete(hold.id);
        setStatus((action === 'approve' ? 'Approved ' : 'Denied ') + (hold.tool || hold.method) + '.');
        updateEmpty();
      } catch (error) {
        node.querySelector('.error').textContent = error.message;
        setButtons(node, false);
      }
    };
    node.querySelector('.approve').addEventListener('click', () => decide('approve'));
    node.querySelector('.deny').addEventListener('click', () => decide('deny'));
    return node;
  }

  function toolCard(item) {
    const node = fromTemplate('#tool-template');
    node.querySelector('.tool').textContent = item.tool;
    node.querySelector('.server').textContent = 'on ' + item.server;
    node.querySelector('.change').textContent = item.change === 'added' ? '(new tool)' : '(definition changed)';
    node.querySelector('.flags').textContent = item.flags.length ? 'Flags: ' + item.flags.join(', ') : '';
    const diff = node.querySelector('.diff');
    for (const line of item.diff) {
      const span = document.createElement('span');
      if (line.startsWith('+ ')) span.className = 'add';
      else if (line.startsWith('- ')) span.className = 'del';
      span.textContent = line + '\\n';
      diff.append(span);
    }
    node.querySelector('.approve-tool').addEventListener('click', async () => {
      setButtons(node, true);
      try {
        await api('POST', '/admin/pins/approve', { server: item.server, tool: item.tool, hash: item.pending_hash });
        node.remove();
        toolCards.delete(item.server + '\\u0000' + item.tool + '\\u0000' + item.pending_hash);
        setStatus('Approved the new definition of ' + item.tool + '.');
        updateEmpty();
      } catch (error) {
        node.querySelector('.error').textContent = error.message;
        setButtons(node, false);
      }
    });
    return node;
  }

  function reconcile(cards, items, keyOf, build, list, update) {
    const seen = new Set();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      let node = cards.get(key);
      if (!node) {
        node = build(item);
        cards.set(key, node);
        list.append(node);
      }
      if (update) update(node, item);
    }
    for (const [key, node] of cards) {
      if (!seen.has(key)) { node.remove(); cards.delete(key); }
    }
  }

  async function refresh() {
    try {
      const data = await api('GET', '/admin/holds?pending=true');
      clockOffsetMs = Date.parse(data.now) - Date.now();
      reconcile(holdCards, data.holds, (h) => h.id, holdCard, $('#holds'), (node, h) => {
        node.querySelector('.time-left').textContent = timeLeft(h.expires_at);
      });
      const pins = await api('GET', '/admin/pins');
      reconcile(toolCards, pins.tools, (p) => p.server + '\\u0000' + p.tool + '\\u0000' + p.pending_hash, toolCard, $('#tools'));
      $('#login').hidden = true;
      setEmptyTexts(true);
      if (!announcedSignIn) setStatus('Signed in as ' + data.principal + '.');
      announcedSignIn = true;
      announceSession({ principal: data.principal, roles: data.roles });
    } catch (error) {
      if (error.status === 401) {
        if (sessionStorage.getItem(TOKEN_KEY)) {
          sessionStorage.removeItem(TOKEN_KEY);
          tokenRefused = true;
        }
        signedOut(tokenRefused ? 'That admin token was not accepted. Sign in to review calls.' : 'Sign in to review calls.');
      } else if (error.status === 403) {
        // E.g. an admin certificate not listed as an approver: the gateway says which identity.
        signedOut(error.message + '. Sign in as an approver to review calls.');
      } else {
        setStatus('Cannot load: ' + error.message);
      }
    }
    updateEmpty();
  }

  async function poll() {
    await refresh();
    setTimeout(poll, POLL_MS);
  }

  $('#login').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
    tokenRefused = false;
    $('#token').value = '';
    refresh();
  });

  poll();
})();
`;
