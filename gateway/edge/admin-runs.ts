/**
 * Admin routes for the built-in orchestrator's runs: list them, look at
 * one (its DAG, each task's status and current tool), start one, cancel
 * one. Authenticated like every admin route (admin-scope.ts); starting and
 * cancelling also need the `operator` role. Refusals are registered kinds
 * (gateway/errors.ts). Without an orchestrator the listing says so and the
 * rest answers orchestratorOff; the console's runs view is served either way.
 */
import type { FastifyPluginAsync } from 'fastify';
import { GatewayError } from '../errors.js';
import { RUNS_JS } from '../holds/console/runs.js.js';
import { ADMIN_BODY_LIMIT, adminScope, consoleAsset, requireRole } from './admin-scope.js';
import type { AdminAuthenticator } from './admin-scope.js';

/** A run as the API shows it: agents/host/progress.ts RunView (its DAG, each task's status and activity). */
export interface RunJson {
  id: string;
  status: string;
}

/** The orchestrator host as the edge sees it; refusals are thrown as GatewayErrors. */
export interface RunsControl {
  start(agent: string, task: string, by: string): RunJson;
  cancel(id: string, by: string): RunJson;
  view(id: string): RunJson | undefined;
  list(limit: number): RunJson[];
}

export interface AdminRunsOptions {
  /** Undefined when portcullis.yaml has no orchestrator section. */
  runs: RunsControl | undefined;
  authenticate: AdminAuthenticator;
}

/** Starting and cancelling runs spends model budget and acts through tools: a role of its own. */
export const OPERATOR_ROLE = 'operator';

const MAX_LISTED = 100;

const runParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9A-Za-z-]{1,64}$' } },
} as const;

const startBody = {
  type: 'object',
  additionalProperties: false,
  required: ['agent', 'task'],
  properties: {
    agent: { type: 'string', minLength: 1, maxLength: 64 },
    task: { type: 'string', minLength: 1, maxLength: 10_000 },
  },
} as const;

export const adminRunsPlugin: FastifyPluginAsync<AdminRunsOptions> = async (app, options) => {
  const { runs } = options;
  const { guard, principalOf } = adminScope(app, options.authenticate);
  const host = (): RunsControl => {
    if (runs === undefined) throw new GatewayError('orchestratorOff');
    return runs;
  };

  app.get('/admin/runs', { onRequest: guard }, async () => ({ orchestrator: runs !== undefined, runs: runs?.list(MAX_LISTED) ?? [] }));

  app.get('/admin/runs/:id', { onRequest: guard, schema: { params: runParams } }, async (request) => {
    const run = host().view((request.params as { id: string }).id);
    if (run === undefined) throw new GatewayError('runNotFound');
    return { run };
  });

  app.post('/admin/runs', { onRequest: guard, bodyLimit: ADMIN_BODY_LIMIT, schema: { body: startBody } }, async (request, reply) => {
    const principal = principalOf(request);
    requireRole(principal, OPERATOR_ROLE, 'not-an-operator');
    const { agent, task } = request.body as { agent: string; task: string };
    return reply.code(202).send({ run: host().start(agent, task, principal.id) });
  });

  app.post('/admin/runs/:id/cancel', { onRequest: guard, schema: { params: runParams } }, async (request) => {
    const principal = principalOf(request);
    requireRole(principal, OPERATOR_ROLE, 'not-an-operator');
    return { run: host().cancel((request.params as { id: string }).id, principal.id) };
  });

  app.get('/admin/console/runs.js', consoleAsset('text/javascript; charset=utf-8', RUNS_JS));
};
