/**
 * The admin evidence API: GET /admin/evidence/<section> (audit, config,
 * policy, pki, holds, pins, metrics; ?from=&to= bound the audit period) and
 * the report index, GET /admin/reports, and each indexed report file,
 * GET /admin/reports/<run id>/<file> (always a download). Readers are admins
 * with the `auditor` role and the hosted compliance reporters, agent
 * certificates named `reporter-<framework>` for a framework the `reports`
 * section runs. Every evidence read and report download is itself an audit
 * record (control `evidence`); when it cannot be written the read is
 * refused: evidence is never read unseen.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { EVIDENCE_SECTIONS, type EvidenceSectionName, type MetricSample } from '../client/evidence.js';
import { resolveConfigPath } from '../config/load.js';
import type { PortcullisConfig } from '../config/sections.js';
import { PeriodTooLargeError } from '../evidence/audit.js';
import { collectSection } from '../evidence/collect.js';
import { holdEvidence } from '../evidence/holds-pins.js';
import { indexedReportFile, readReportIndex, type ReportFormat } from '../evidence/report-index.js';
import { REPORTS_JS } from '../holds/console/reports.js.js';
import type { HoldStore } from '../holds/store.js';
import type { Principal } from '../holds/types.js';
import type { GatewayMetrics } from '../metrics/index.js';
import { AdminError, adminScope, consoleAsset, type AdminAuthenticator } from './admin-scope.js';

export const AUDITOR_ROLE = 'auditor';

export interface AdminEvidenceOptions {
  config: PortcullisConfig;
  audit: AuditLog | undefined;
  holds: HoldStore;
  metrics: GatewayMetrics;
  /** The running policy's revision. */
  revision: () => string;
  authenticate: AdminAuthenticator;
}

/** Who may read evidence: an auditor, or the hosted reporter of a framework the reports section runs. */
function readerOf(principal: Principal | undefined, config: PortcullisConfig): Principal {
  if (principal === undefined) throw new AdminError(401, 'unauthenticated', 'an auditor token, admin certificate or reporter certificate is required');
  if (principal.kind === 'admin' && principal.roles.includes(AUDITOR_ROLE)) return principal;
  const framework = /^reporter-(.+)$/.exec(principal.name)?.[1];
  const hosted = config.reports?.frameworks as readonly string[] | undefined;
  if (principal.kind === 'agent' && framework !== undefined && hosted?.includes(framework) === true) return principal;
  throw new AdminError(403, 'not-an-auditor', `${principal.id} may not read evidence (the ${AUDITOR_ROLE} role, or a reporter of a configured framework, is required)`);
}

function timeParam(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw new AdminError(400, 'invalid-request', `${name} must be an ISO 8601 time`);
  return new Date(at).toISOString();
}

async function metricSamples(metrics: GatewayMetrics): Promise<MetricSample[]> {
  const families = await metrics.registry.getMetricsAsJSON();
  return families.flatMap((family) =>
    family.values.map((v) => ({ name: (v as { metricName?: string }).metricName ?? family.name, labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])), value: v.value })),
  );
}

/** How each report format is served: every file is a download, and a sandbox should it ever be rendered (a report's HTML must not run in this origin). */
const REPORT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json',
  oscal: 'application/json',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
};
const REPORT_FILE_CSP = "default-src 'none'; sandbox";

const reportFileParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'file'],
  properties: {
    id: { type: 'string', pattern: '^[0-9TZ-]{1,64}$' },
    file: { type: 'string', pattern: '^[a-z0-9-]{1,64}(\\.[a-z]{1,8}){1,2}$' },
  },
} as const;

export const adminEvidencePlugin: FastifyPluginAsync<AdminEvidenceOptions> = async (app, options) => {
  const { config, audit } = options;
  adminScope(app, options.authenticate, (error, reply) =>
    error instanceof PeriodTooLargeError ? reply.code(413).send({ error: { code: 'period-too-large', message: error.message } }) : undefined,
  );
  const readers = new WeakMap<FastifyRequest, Principal>();
  const guard = async (request: FastifyRequest): Promise<void> => {
    readers.set(request, readerOf(options.authenticate(request.raw), config));
  };
  const sources = {
    config,
    holds: () => options.holds.list().map(holdEvidence),
    metrics: () => metricSamples(options.metrics),
  };
  const reportsDir = config.reports === undefined ? undefined : resolveConfigPath(config, config.reports.dir);

  /** On record before anything is read; a trail that cannot write refuses the read. */
  const recordRead = async (request: FastifyRequest, details: Record<string, string>): Promise<void> => {
    const reader = readers.get(request) as Principal;
    if (audit === undefined) throw new AdminError(503, 'audit-unavailable', 'evidence is read only where the reading is audited: configure the audit section');
    await audit.record({ type: 'event', control: 'evidence', event: 'read', details: { reader: reader.id, ...details } }).catch(() => {
      throw new AdminError(503, 'audit-unavailable', 'the audit trail cannot record this read: refused');
    });
  };

  app.get('/admin/evidence/:section', { onRequest: guard }, async (request) => {
    const section = (request.params as { section: string }).section as EvidenceSectionName;
    if (!EVIDENCE_SECTIONS.includes(section)) throw new AdminError(404, 'not-found', `no evidence section "${section}"`);
    const query = request.query as Record<string, unknown>;
    const from = timeParam(query, 'from');
    const to = timeParam(query, 'to');
    const period = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
    await recordRead(request, { section, ...period });
    return collectSection(section, { ...sources, revision: options.revision() }, period);
  });

  app.get('/admin/reports', { onRequest: guard }, async () => ({ reports: reportsDir === undefined ? [] : readReportIndex(reportsDir) }));

  // Only what the index lists is served: the request names an entry, the path comes from the index.
  app.get('/admin/reports/:id/:file', { onRequest: guard, schema: { params: reportFileParams } }, async (request, reply) => {
    const { id, file } = request.params as { id: string; file: string };
    const indexed = reportsDir === undefined ? undefined : indexedReportFile(reportsDir, id, file);
    if (indexed === undefined) throw new AdminError(404, 'not-found', `no report file ${file} in run ${id}`);
    await recordRead(request, { section: 'report', report: id, file });
    const body = await readFile(indexed.file).catch(() => {
      throw new AdminError(404, 'not-found', `report file ${file} of run ${id} is gone (removed after its retention?)`);
    });
    return reply
      .header('content-type', REPORT_TYPES[indexed.format])
      .header('content-disposition', `attachment; filename="${file}"`)
      .header('content-security-policy', REPORT_FILE_CSP)
      .send(body);
  });

  app.get('/admin/console/reports.js', consoleAsset('text/javascript; charset=utf-8', REPORTS_JS));
};
