/**
 * The HTML report: the audit verification statement first, a scorecard,
 * the charts (inline SVG), then every control with its figures and the
 * records that support it, the subject access section when asked, and the
 * signature. Self-contained and script-free; the signed JSON report is
 * embedded so `portcullis report verify` can check an HTML file too.
 */
import type { ControlResult, Report } from './assess.js';
import type { Chart } from './charts.js';
import type { Status } from './framework.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STATUS_CLASS: Record<Status, string> = {
  met: 'met',
  partly: 'partly',
  'not met': 'not-met',
  'not applicable': 'na',
  'insufficient evidence': 'insufficient',
};

const CSS = `
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#1a1a1a;line-height:1.4}
h1{margin-bottom:.2rem}.meta{color:#555;margin-top:0}
.audit{padding:.8rem 1rem;border-radius:6px;margin:1rem 0;border:1px solid}
.audit.verified{background:#edf7ee;border-color:#2e7d32}.audit.tampered,.audit.unverifiable,.audit.unavailable{background:#fdecea;border-color:#c62828}
.scorecard{display:flex;gap:.6rem;flex-wrap:wrap;margin:1rem 0}
.tile{flex:1;min-width:120px;padding:.8rem;border-radius:6px;text-align:center;color:#fff}
.tile .n{font-size:2rem;font-weight:700;display:block}
.met{background:#2e7d32}.partly{background:#ef6c00}.not-met{background:#c62828}.na{background:#757575}.insufficient{background:#6a1b9a}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
figure.chart{margin:0;border:1px solid #ddd;border-radius:6px;padding:.5rem;break-inside:avoid}
figure.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:4px;color:#fff;font-size:.85rem;white-space:nowrap}
code{font-size:.85rem;word-break:break-all}
section.control{break-inside:avoid}
`;

function figureText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v) => String(v)) : Object.entries(value).map(([k, v]) => `${k}: ${String(v)}`);
    return entries.length === 0 ? 'none' : entries.join('; ');
  }
  return String(value);
}

function controlRow(control: ControlResult): string {
  const figures = Object.entries(control.figures)
    .map(([name, value]) => `<li><span class="figure-name">${escapeHtml(name.replace(/_/g, ' '))}</span>: <span class="figure-value">${escapeHtml(figureText(value))}</span></li>`)
    .join('');
  const records = control.evidence.records;
  const ranges = records.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(', ');
  const seals = control.evidence.checkpoints.map((c) => `seq ${c.seq} <code>${escapeHtml(c.hash)}</code>`).join(', ');
  const evidence =
    records.count === 0
      ? `from ${escapeHtml(control.evidence.sections.join(', '))}`
      : `${records.count} audit record(s): seq ${escapeHtml(ranges)}${records.more > 0 ? ` and ${records.more} more ranges` : ''} in ${escapeHtml(records.files.join(', '))}; sealed by checkpoint ${seals || 'none yet'}`;
  const rules = control.evidence.rules.length === 0 ? '' : `<br><small>Policy rules: ${escapeHtml(control.evidence.rules.join(', '))}</small>`;
  return `<tr class="control" data-control="${escapeHtml(control.id)}" data-status="${escapeHtml(control.status)}">
<td><strong>${escapeHtml(control.id)}</strong><br>${escapeHtml(control.title)}</td>
<td><span class="badge ${STATUS_CLASS[control.status]}">${escapeHtml(control.status)}</span>${control.because === undefined ? '' : `<br><small>${escapeHtml(control.because)}</small>`}</td>
<td>${escapeHtml(control.claim)}<ul>${figures}</ul><small>Evidence: ${evidence}</small>${rules}</td></tr>`;
}

function subjectSection(report: Report): string {
  const access = report.subject_access;
  if (access === undefined) return '';
  const rows = access.records
    .map((r) => `<tr data-seq="${r.seq}"><td>${r.seq}</td><td>${escapeHtml(r.ts)}</td><td>${escapeHtml([r.agent, r.server, r.tool].filter(Boolean).join(' · '))}</td><td>${r.mentions.map((m) => `<code>${escapeHtml(m.path)}</code>: ${escapeHtml(m.value)}`).join('<br>')}</td></tr>`)
    .join('');
  return `<h2>Subject access (Art. 15): ${escapeHtml(access.identifier)}</h2>
<p>${access.records.length} record(s) mention the subject; only the values that mention them are shown.</p>
<table id="subject-access"><tr><th>seq</th><th>time</th><th>agent · server · tool</th><th>values</th></tr>${rows}</table>`;
}

/** The signed report as an inert JSON block (never executed; `<` escaped so it cannot close the element). */
function embedded(report: object): string {
  return JSON.stringify(report).replace(/</g, '\\u003c');
}

export function renderHtml(report: Report & { signature?: { kid: string; sha256: string; jws: string } }, charts: Chart[]): string {
  const r = report.report;
  const period = `${r.period.from ?? 'the beginning of the trail'} to ${r.period.to ?? r.generated_at}`;
  const tiles = (Object.keys(STATUS_CLASS) as Status[])
    .map((s) => `<div class="tile ${STATUS_CLASS[s]}" data-status="${escapeHtml(s)}"><span class="n">${report.summary[s]}</span>${escapeHtml(s)}</div>`)
    .join('');
  const figures = charts.map((c) => `<figure class="chart" data-chart="${escapeHtml(c.id)}"><figcaption>${escapeHtml(c.title)}</figcaption>${c.svg}</figure>`).join('\n');
  const audit = report.audit;
  const checkpoints = audit.checkpoints.map((c) => `seq ${c.seq} <code>${escapeHtml(c.hash)}</code>`).join(', ');
  const signature = report.signature;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(r.title)}: Portcullis compliance report</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(r.title)}</h1>
<p class="meta">Period ${escapeHtml(period)} · generated ${escapeHtml(r.generated_at)} from ${escapeHtml(r.source)} evidence · <a href="${escapeHtml(r.reference)}">framework text</a></p>
<div class="audit ${escapeHtml(audit.status)}" id="audit-statement"><strong>Audit trail: ${escapeHtml(audit.status)}.</strong> ${escapeHtml(audit.statement)}
${audit.records_in_period > 0 ? `<br>Period records: seq ${audit.first_seq}–${audit.last_seq} (${audit.records_in_period}) in ${escapeHtml(audit.files.join(', '))}. Checkpoints covering them: ${checkpoints || 'none'}.` : ''}
${audit.unsealed === null ? '' : `<br>Not yet sealed by a checkpoint: seq ${audit.unsealed.from_seq}–${audit.unsealed.to_seq}.`}</div>
<h2>Scorecard</h2><div class="scorecard">${tiles}</div>
<h2>Charts</h2><div class="charts">${figures}</div>
<h2>Controls</h2>
<table id="controls"><tr><th>control</th><th>status</th><th>claim, figures and evidence</th></tr>${report.controls.map(controlRow).join('\n')}</table>
${subjectSection(report)}
<h2>Signature</h2>
<p id="signature">${signature === undefined ? 'Not signed.' : `Signed by the gateway's key <code>${escapeHtml(signature.kid)}</code> over SHA-256 <code>${escapeHtml(signature.sha256)}</code>. Check it with <code>portcullis report verify</code>.`}</p>
<script type="application/json" id="portcullis-report">${embedded(report)}</script>
</body></html>
`;
}

/** The signed report embedded in an HTML report, if any. */
export function reportInHtml(html: string): unknown {
  const match = /<script type="application\/json" id="portcullis-report">([\s\S]*?)<\/script>/.exec(html);
  return match?.[1] === undefined ? undefined : JSON.parse(match[1]);
}
