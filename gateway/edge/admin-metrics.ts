/**
 * GET /admin/metrics on the main HTTPS listener, for deployments without a
 * dedicated metrics listener: only configured admins (client certificate or
 * token) may read it; agents never can.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialSource } from '../holds/approver-auth.js';
import type { Principal } from '../holds/types.js';
import type { GatewayMetrics } from '../metrics/index.js';

export const ADMIN_METRICS_PATH = '/admin/metrics';

export interface AdminMetricsOptions {
  metrics: GatewayMetrics;
  authenticate: (request: CredentialSource) => Principal | undefined;
}

export async function adminMetricsPlugin(app: FastifyInstance, options: AdminMetricsOptions): Promise<void> {
  app.get(ADMIN_METRICS_PATH, async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = options.authenticate(request.raw);
    if (principal === undefined) return reply.code(401).send({ error: 'unauthenticated', message: 'an admin token or admin client certificate is required' });
    if (principal.kind !== 'admin') return reply.code(403).send({ error: 'forbidden', message: 'metrics are for admins' });
    const { contentType, body } = await options.metrics.exposition();
    return reply.type(contentType).send(body);
  });
}
