/** The console's HTML shell: no inline script or style, so the CSP can forbid both. */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Portcullis approvals</title>
<link rel="icon" href="/admin/console/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/console/console.css">
<script src="/admin/console/console.js" defer></script>
<script src="/admin/console/runs.js" defer></script>
<script src="/admin/console/reports.js" defer></script>
</head>
<body>
<header>
  <h1>Portcullis approvals</h1>
  <p id="status" role="status">Loading…</p>
</header>
<form id="login" hidden>
  <label for="token">Admin token</label>
  <input id="token" type="password" autocomplete="off" required>
  <button type="submit">Sign in</button>
  <p class="hint">Or open this page with your admin client certificate.</p>
</form>
<main>
  <section>
    <h2>Calls waiting for approval</h2>
    <p id="holds-empty">Sign in to see waiting calls.</p>
    <ul id="holds"></ul>
  </section>
  <section>
    <h2>Quarantined tools</h2>
    <p id="tools-empty">Sign in to see quarantined tools.</p>
    <ul id="tools"></ul>
  </section>
  <section>
    <h2>Orchestrator runs</h2>
    <p id="runs-status" role="status"></p>
    <p id="runs-empty">Sign in to see runs.</p>
    <ul id="runs"></ul>
  </section>
  <section>
    <h2>Compliance reports</h2>
    <p id="reports-status" role="status"></p>
    <p id="reports-empty">Sign in as an auditor to see reports.</p>
    <ul id="reports"></ul>
  </section>
</main>
<template id="hold-template">
  <li class="hold">
    <h3><span class="tool"></span> <small class="server"></small></h3>
    <dl>
      <dt>Agent</dt><dd class="agent"></dd>
      <dt>Held because</dt><dd class="reasons"></dd>
      <dt>Time left</dt><dd class="time-left"></dd>
      <dt>Call digest</dt><dd class="digest"></dd>
    </dl>
    <pre class="arguments"></pre>
    <label>Reason <textarea class="reason" maxlength="500" rows="2"></textarea></label>
    <div class="actions">
      <button type="button" class="approve">Approve</button>
      <button type="button" class="deny">Deny</button>
    </div>
    <p class="error" role="alert"></p>
  </li>
</template>
<template id="tool-template">
  <li class="quarantined">
    <h3><span class="tool"></span> <small class="server"></small> <small class="change"></small></h3>
    <p class="flags"></p>
    <pre class="diff"></pre>
    <div class="actions"><button type="button" class="approve-tool">Approve this definition</button></div>
    <p class="error" role="alert"></p>
  </li>
</template>
<template id="run-template">
  <li class="run">
    <h3><span class="agent"></span> <small class="run-id"></small></h3>
    <dl>
      <dt>Task</dt><dd class="task"></dd>
      <dt>Status</dt><dd class="run-status"></dd>
      <dt>Elapsed</dt><dd class="elapsed"></dd>
    </dl>
    <table>
      <thead><tr><th>Task</th><th>Agent</th><th>Status</th><th>Elapsed</th><th>Now</th><th>After</th></tr></thead>
      <tbody></tbody>
    </table>
    <pre class="outcome"></pre>
    <div class="actions"><button type="button" class="cancel">Cancel run</button></div>
    <p class="error" role="alert"></p>
  </li>
</template>
<template id="report-template">
  <li class="report">
    <h3><span class="framework"></span> <small class="report-id"></small></h3>
    <dl>
      <dt>Period</dt><dd class="period"></dd>
      <dt>Created</dt><dd class="created"></dd>
      <dt>Audit trail</dt><dd class="audit"></dd>
      <dt>Controls</dt><dd class="summary"></dd>
    </dl>
    <div class="actions files"></div>
    <p class="error" role="alert"></p>
  </li>
</template>
</body>
</html>
`;

/** A portcullis grille; served so browsers do not probe /favicon.ico. */
export const CONSOLE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M2 1h12v14h-2v-3h-2v3H8v-3H6v3H4v-3H2z" fill="#444"/></svg>`;

export const CONSOLE_CSS = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1b1b1b; }
header { display: flex; justify-content: space-between; align-items: baseline; }
ul { list-style: none; padding: 0; }
li { border: 1px solid #ccc; border-radius: 6px; padding: .75rem 1rem; margin: .75rem 0; }
dl { display: grid; grid-template-columns: 8rem 1fr; gap: .2rem .5rem; margin: .5rem 0; }
dt { color: #555; }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #f5f5f5; padding: .5rem; overflow: auto; max-height: 20rem; }
textarea { display: block; width: 100%; box-sizing: border-box; }
.actions { margin-top: .5rem; display: flex; gap: .5rem; }
button { padding: .35rem .9rem; cursor: pointer; }
.approve, .approve-tool { background: #1f7a34; color: #fff; border: 0; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #ddd; overflow-wrap: anywhere; }
.outcome:empty { display: none; }
.summary { display: flex; flex-wrap: wrap; gap: .3rem .9rem; }
.audit[data-status="verified"] { color: #1f7a34; }
.audit:not([data-status="verified"]) { color: #a32020; }
.deny, .cancel { background: #a32020; color: #fff; border: 0; border-radius: 4px; }
.error { color: #a32020; }
.flags { color: #8a5300; }
.add { color: #1f7a34; }
.del { color: #a32020; }
`;
