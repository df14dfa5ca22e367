/**
 * The admin evidence API: GET /admin/evidence/<section> (audit, config,
 * policy, pki, holds, pins, metrics; ?from=&to= bound the audit period) and
 * the report index, GET /admin/reports. Readers are admins with the
 * `auditor` role and the hosted compliance reporters, agent certificates
 * named `reporter-<framework>` for a framework the `reports` section runs.
 * Every evidence read is itself an audit record (control `evidence`); when
 * it cannot be written the read is refused: evidence is never read unseen.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { EVIDENCE_SECTIONS, type EvidenceSectionName, type MetricSample } from '../client/evidence.js';
import { resolveConfigPath } from '../config/load.js';
import { REPORT_INDEX } from '../config/reports-schema.js';
import type { PortcullisConfig } from '../config/sections.js';
import { PeriodTooLargeError } from '../evidence/audit.js';
import { collectSection } from '../evidence/collect.js';
import { holdEvidence } from '../evidence/holds-pins.js';
import type { HoldStore } from '../holds/store.js';
import type { Principal } from '../holds/types.js';
import type { GatewayMetrics } from '../metrics/index.js';
import { AdminError, adminScope, type AdminAuthenticator } from './admin-scope.js';

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

  app.get('/admin/evidence/:section', { onRequest: guard }, async (request) => {
    const section = (request.params as { section: string }).section as EvidenceSectionName;
    if (!EVIDENCE_SECTIONS.includes(section)) throw new AdminError(404, 'not-found', `no evidence section "${section}"`);
    const query = request.query as Record<string, unknown>;
    const from = timeParam(query, 'from');
    const to = timeParam(query, 'to');
    const reader = readers.get(request) as Principal;
    if (audit === undefined) throw new AdminError(503, 'audit-unavailable', 'evidence is read only where the reading is audited: configure the audit section');
    // On record before anything is read; a trail that cannot write refuses the read.
    await audit
      .record({ type: 'event', control: 'evidence', event: 'read', details: { reader: reader.id, section, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) } })
      .catch(() => {
        throw new AdminError(503, 'audit-unavailable', 'the audit trail cannot record this read: refused');
      });
    return collectSection(section, { ...sources, revision: options.revision() }, { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
  });

  app.get('/admin/reports', { onRequest: guard }, async () => {
    const reports = config.reports;
    if (reports === undefined) return { reports: [] };
    const index = path.join(resolveConfigPath(config, reports.dir), REPORT_INDEX);
    return existsSync(index) ? (JSON.parse(readFileSync(index, 'utf8')) as unknown) : { reports: [] };
  });
};
