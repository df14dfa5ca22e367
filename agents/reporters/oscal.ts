/**
 * NIST OSCAL assessment-results (1.0.6) from a signed report: one result for
 * the period, an observation (the figures and the records that support
 * them) and a finding (the status) per control, and the signed report
 * itself as a back-matter resource so a GRC tool keeps the evidence with it.
 */
import { randomUUID } from 'node:crypto';
import type { ControlResult, Report } from './assess.js';

export const OSCAL_VERSION = '1.0.6';

/** OSCAL identifiers are XML NCNames: the framework's id in front, anything else a dash. */
function token(framework: string, id: string): string {
  return `${framework}-${id}`.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/-+$/, '');
}

function evidenceText(control: ControlResult): string {
  const records = control.evidence.records;
  const ranges = records.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
  const seals = control.evidence.checkpoints.map((c) => `seq ${c.seq} (${c.hash})`).join(', ');
  const parts = [`Evidence sections: ${control.evidence.sections.join(', ')}.`];
  if (records.count > 0) parts.push(`${records.count} audit record(s), seq ${ranges}${records.more > 0 ? ` and ${records.more} more ranges` : ''}, in ${records.files.join(', ')}; sealed by checkpoint(s) ${seals || 'none yet'}.`);
  return parts.join(' ');
}

function state(status: ControlResult['status']): { state: 'satisfied' | 'not-satisfied'; reason: 'pass' | 'fail' | 'other' } {
  if (status === 'met') return { state: 'satisfied', reason: 'pass' };
  return { state: 'not-satisfied', reason: status === 'not met' ? 'fail' : 'other' };
}

export function toOscal(report: Report & { signature?: unknown }): Record<string, unknown> {
  const framework = report.report.framework;
  const observations = report.controls.map((control) => ({
    uuid: randomUUID(),
    title: `${control.id} ${control.title}`,
    description: `Figures: ${JSON.stringify(control.figures)}`,
    props: [{ name: 'portcullis-status', value: control.status }],
    methods: ['TEST'],
    'relevant-evidence': [{ description: evidenceText(control) }],
    collected: report.report.generated_at,
  }));
  const findings = report.controls.map((control, i) => ({
    uuid: randomUUID(),
    title: `${control.id} ${control.title}`,
    description: control.claim,
    target: {
      type: 'objective-id',
      'target-id': token(framework, control.id),
      status: { ...state(control.status), ...(control.because === undefined ? {} : { remarks: control.because }) },
    },
    'related-observations': [{ 'observation-uuid': observations[i]?.uuid }],
  }));
  const firstTs = report.audit.checkpoints[0]?.ts;
  return {
    'assessment-results': {
      uuid: randomUUID(),
      metadata: {
        title: `${report.report.title}: Portcullis assessment`,
        'last-modified': report.report.generated_at,
        version: report.report.generated_at,
        'oscal-version': OSCAL_VERSION,
        props: [
          { name: 'audit-status', value: report.audit.status },
          { name: 'framework', value: framework },
        ],
        remarks: report.audit.statement,
      },
      'import-ap': { href: '#portcullis-framework', remarks: `No separate assessment plan: the framework file ${framework}.yaml is the plan.` },
      results: [
        {
          uuid: randomUUID(),
          title: report.report.title,
          description: `Computed by Portcullis from the gateway's evidence (${report.report.source}). ${report.audit.statement}`,
          start: report.report.period.from ?? firstTs ?? report.report.generated_at,
          end: report.report.period.to ?? report.report.generated_at,
          'reviewed-controls': { 'control-selections': [{ 'include-controls': report.controls.map((c) => ({ 'control-id': token(framework, c.id) })) }] },
          observations,
          findings,
        },
      ],
      'back-matter': {
        resources: [
          {
            uuid: randomUUID(),
            title: 'The signed Portcullis report (JSON); check it with portcullis report verify',
            base64: { filename: `${framework}-report.json`, 'media-type': 'application/json', value: Buffer.from(JSON.stringify(report)).toString('base64') },
          },
        ],
      },
    },
  };
}

/** The signed report a document carries: itself (JSON), or the OSCAL back-matter copy. */
export function embeddedReport(document: unknown): unknown {
  const resources = (document as { 'assessment-results'?: { 'back-matter'?: { resources?: Array<{ base64?: { value?: unknown } }> } } } | null)?.['assessment-results']?.['back-matter']?.resources;
  const value = resources?.find((r) => typeof r.base64?.value === 'string')?.base64?.value;
  return typeof value === 'string' ? JSON.parse(Buffer.from(value, 'base64').toString('utf8')) : document;
}
