/**
 * The console's runs view, served as /admin/console/runs.js: the built-in
 * orchestrator's runs, newest first, each with its tasks (status, elapsed,
 * what each does now) and a Cancel button while it runs. Plain ES2020;
 * every value is written with textContent (tasks and activities come from
 * models and tools).
 */
export const RUNS_JS = `'use strict';
(() => {
  const POLL_MS = 1000;
  const SHOWN = 20;
  const $ = (selector) => document.querySelector(selector);
  const cards = new Map();
  // console.js (loaded first) signs requests in: the admin token of this tab, the CSRF header.
  const api = globalThis.portcullisApi;

  function seconds(ms) { return typeof ms === 'number' ? (ms / 1000).toFixed(1) + ' s' : ''; }

  function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text;
    row.append(td);
  }

  function runCard(run) {
    const node = $('#run-template').content.firstElementChild.cloneNode(true);
    node.dataset.id = run.id;
    node.querySelector('.run-id').textContent = run.id;
    node.querySelector('.cancel').addEventListener('click', async () => {
      node.querySelector('.cancel').disabled = true;
      try {
        await api('POST', '/admin/runs/' + encodeURIComponent(run.id) + '/cancel');
        $('#runs-status').textContent = 'Cancelled run ' + run.id + '.';
      } catch (error) {
        node.querySelector('.error').textContent = error.message;
        node.querySelector('.cancel').disabled = false;
      }
    });
    return node;
  }

  function update(node, run) {
    node.dataset.status = run.status;
    node.querySelector('.agent').textContent = run.agent;
    node.querySelector('.run-status').textContent = run.status + (run.phase === 'ended' ? '' : ' (' + run.phase + (run.activity ? ': ' + run.activity : '') + ')');
    node.querySelector('.elapsed').textContent = seconds(run.elapsed_ms);
    node.querySelector('.task').textContent = run.task;
    node.querySelector('.outcome').textContent = run.error ? 'Error: ' + run.error : run.answer || '';
    node.querySelector('.cancel').hidden = run.status !== 'running';
    const body = node.querySelector('tbody');
    body.textContent = '';
    for (const task of run.tasks) {
      const row = document.createElement('tr');
      row.dataset.task = task.id;
      cell(row, task.id);
      cell(row, task.agent);
      cell(row, task.status);
      cell(row, seconds(task.elapsed_ms));
      cell(row, task.activity || '');
      cell(row, task.depends_on.join(', '));
      body.append(row);
    }
  }

  async function refresh() {
    try {
      const data = await api('GET', '/admin/runs');
      if (!data.orchestrator) {
        $('#runs-empty').textContent = 'The orchestrator is not configured (no orchestrator section in portcullis.yaml).';
      } else {
        $('#runs-empty').textContent = 'No run yet.';
      }
      const shown = data.runs.slice(0, SHOWN);
      const seen = new Set();
      for (const run of shown) {
        seen.add(run.id);
        let node = cards.get(run.id);
        if (!node) {
          node = runCard(run);
          cards.set(run.id, node);
        }
        update(node, run);
        $('#runs').append(node);
      }
      for (const [id, node] of cards) {
        if (!seen.has(id)) { node.remove(); cards.delete(id); }
      }
    } catch (error) {
      for (const node of cards.values()) node.remove();
      cards.clear();
      $('#runs-empty').textContent = error.status === 401 || error.status === 403 ? 'Sign in to see runs.' : 'Cannot load runs: ' + error.message;
    }
    $('#runs-empty').hidden = cards.size > 0;
  }

  async function poll() {
    await refresh();
    setTimeout(poll, POLL_MS);
  }

  poll();
})();
`;
