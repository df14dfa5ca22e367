/**
 * The console's reports view, served as /admin/console/reports.js: the
 * hosted compliance reports of the index, newest first, each with its
 * framework, period, creation time, audit verification result and
 * scorecard, and a download button per file. Only auditors may read
 * reports; others are told so without asking the API (console.js says who
 * is signed in, with which roles). A file is fetched signed in as this tab and
 * handed to the browser as an opaque download (never opened here: a
 * report's HTML must not run in the console's origin). Plain ES2020; every
 * value is written with textContent.
 */
export const REPORTS_JS = `'use strict';
(() => {
  const REFRESH_MS = 10000;
  const AUDITOR = 'auditor';
  const SHOWN = 50;
  const STATUSES = ['met', 'partly', 'not met', 'not applicable', 'insufficient evidence'];
  const $ = (selector) => document.querySelector(selector);
  const cards = new Map();
  // console.js (loaded first) signs requests in: the admin token of this tab, the CSRF header.
  const send = globalThis.portcullisSend;
  const api = globalThis.portcullisApi;

  function keyOf(entry) { return entry.id + '/' + entry.framework; }

  function fileUrl(entry, name) { return '/admin/reports/' + encodeURIComponent(entry.id) + '/' + encodeURIComponent(name); }

  async function download(node, entry, name) {
    node.querySelector('.error').textContent = '';
    try {
      const response = await send('GET', fileUrl(entry, name));
      // An opaque type: the browser saves it and never renders it in this origin.
      const blob = new Blob([await response.arrayBuffer()], { type: 'application/octet-stream' });
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      node.querySelector('.error').textContent = 'Cannot download ' + name + ': ' + error.message;
    }
  }

  function reportCard(entry) {
    const node = $('#report-template').content.firstElementChild.cloneNode(true);
    node.dataset.id = entry.id;
    node.dataset.framework = entry.framework;
    node.querySelector('.framework').textContent = entry.framework;
    node.querySelector('.report-id').textContent = entry.id;
    node.querySelector('.period').textContent = entry.period.from + ' to ' + entry.period.to;
    node.querySelector('.created').textContent = entry.generated_at;
    node.querySelector('.audit').textContent = entry.audit;
    node.querySelector('.audit').dataset.status = entry.audit;
    const summary = node.querySelector('.summary');
    for (const status of STATUSES) {
      const count = entry.summary[status];
      if (typeof count !== 'number') continue;
      const item = document.createElement('span');
      item.className = 'count';
      item.dataset.status = status;
      item.textContent = count + ' ' + status;
      summary.append(item);
    }
    const files = node.querySelector('.files');
    for (const [format, name] of Object.entries(entry.files)) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'download';
      button.dataset.format = format;
      button.textContent = 'Download ' + format.toUpperCase() + ' (' + name + ')';
      button.addEventListener('click', () => download(node, entry, name));
      files.append(button);
    }
    return node;
  }

  function clear(message) {
    for (const node of cards.values()) node.remove();
    cards.clear();
    $('#reports-status').textContent = '';
    $('#reports-empty').textContent = message;
    $('#reports-empty').hidden = false;
  }

  async function refresh() {
    try {
      const data = await api('GET', '/admin/reports');
      const shown = data.reports.slice(0, SHOWN);
      const seen = new Set();
      for (const entry of shown) {
        const key = keyOf(entry);
        seen.add(key);
        if (!cards.has(key)) cards.set(key, reportCard(entry));
        $('#reports').append(cards.get(key));
      }
      for (const [key, node] of cards) {
        if (!seen.has(key)) { node.remove(); cards.delete(key); }
      }
      $('#reports-empty').textContent = 'No report yet (the reports section of portcullis.yaml schedules them).';
      $('#reports-status').textContent = data.reports.length > SHOWN ? 'The newest ' + SHOWN + ' of ' + data.reports.length + ' reports.' : '';
      $('#reports-empty').hidden = cards.size > 0;
    } catch (error) {
      clear('Cannot load reports: ' + error.message);
    }
  }

  // Reports are read by auditors only: the list follows the session console.js announces
  // (each of its polls), and is loaded when an auditor signs in and every REFRESH_MS after.
  let loadedAt;
  document.addEventListener('portcullis-session', async (event) => {
    const session = event.detail;
    if (!session || !session.roles.includes(AUDITOR)) {
      loadedAt = undefined;
      clear(session ? 'Reports are for auditors: ' + session.principal + ' does not have the ' + AUDITOR + ' role.' : 'Sign in as an auditor to see reports.');
      return;
    }
    if (loadedAt !== undefined && Date.now() - loadedAt < REFRESH_MS) return;
    loadedAt = Date.now();
    await refresh();
  });
})();
`;
