/**
 * The compliance reporters: assess a framework against the gateway's
 * evidence and render the result. Evidence comes from the admin evidence
 * API (`readEvidence` in portcullis/client) or, for an auditor offline,
 * from the command line reading the folders; signing is the gateway's.
 */
import { assess, type Report } from './assess.js';
import { renderCharts } from './charts.js';
import { FRAMEWORKS, type FrameworkId, loadFramework, loadQueries } from './framework.js';
import { renderHtml } from './html.js';
import { toOscal } from './oscal.js';
import { printPdf } from './pdf.js';
import type { EvidenceBundle } from '../../gateway/client/index.js';

export { FRAMEWORKS, type FrameworkId } from './framework.js';
export type { Report } from './assess.js';
export { reportInHtml } from './html.js';
export { embeddedReport } from './oscal.js';

export const FORMATS = ['json', 'html', 'pdf', 'oscal'] as const;
export type Format = (typeof FORMATS)[number];

export function isFramework(name: string): name is FrameworkId {
  return (FRAMEWORKS as readonly string[]).includes(name);
}

export interface ReportOptions {
  period: { from?: string; to?: string };
  subject?: string;
  /** When the report is made (its generated_at); the clock's time by default. */
  now?: Date;
}

export function buildReport(framework: FrameworkId, evidence: EvidenceBundle, options: ReportOptions): Report {
  const queries = loadQueries();
  return assess(loadFramework(framework, undefined, queries), queries, evidence, options);
}

/** A signed report in one of the formats; JSON is the signed document itself. */
export async function renderReport(signed: Report & { signature?: { kid: string; sha256: string; jws: string } }, format: Format): Promise<string | Buffer> {
  if (format === 'json') return `${JSON.stringify(signed, null, 2)}\n`;
  if (format === 'oscal') return `${JSON.stringify(toOscal(signed), null, 2)}\n`;
  const html = renderHtml(signed, await renderCharts(signed.charts));
  return format === 'html' ? html : printPdf(html);
}
