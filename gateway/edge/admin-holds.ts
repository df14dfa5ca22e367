/**
 * Admin routes for people who decide: the hold API, quarantined-tool review
 * and the approvals console. Mounted on the gateway's fastify instance; every
 * API call needs an admin identity (token or admin certificate) and passes a
 * CSRF guard (custom header + same-origin check), since a browser sends
 * client certificates on its own.
 */
import type { FastifyPluginAsync } from 'fastify';
import { HoldError } from '../holds/errors.js';
import { APPROVER_ROLE, type HoldStore } from '../holds/store.js';
import { CONSOLE_JS } from '../holds/console/console.js.js';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_ICON } from '../holds/console/page.html.js';
import { PinError, type PinStore } from '../pinning/store.js';
import { ADMIN_BODY_LIMIT, adminScope, consoleAsset, requireRole, sendError } from './admin-scope.js';
import type { AdminAuthenticator } from './admin-scope.js';

export { CSRF_HEADER } from './admin-scope.js';

export interface AdminHoldsOptions {
  holds: HoldStore;
  pins: PinStore;
  authenticate: AdminAuthenticator;
}

/** Newest holds returned by one listing (finished ones are in the journal). */
const MAX_LISTED = 500;

const holdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
} as const;

const approveBody = {
  type: 'object',
  additionalProperties: false,
  required: ['digest'],
  properties: {
    digest: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    revision: { type: 'string', maxLength: 256 },
    reason: { type: 'string', maxLength: 1000 },
  },
} as const;

const denyBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 1000 } },
} as const;

const pinApproveBody = {
  type: 'object',
  additionalProperties: false,
  required: ['server', 'tool', 'hash'],
  properties: {
    server: { type: 'string', minLength: 1, maxLength: 256 },
    tool: { type: 'string', minLength: 1, maxLength: 256 },
    hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const;

export const adminHoldsPlugin: FastifyPluginAsync<AdminHoldsOptions> = async (app, options) => {
  const { holds, pins, authenticate } = options;

  const { guard, principalOf } = adminScope(app, authenticate, (error, reply) => {
    if (error instanceof HoldError) return sendError(reply, error.status, error.reason, error.message);
    if (error instanceof PinError) return sendError(reply, error.reason === 'not-quarantined' ? 404 : 409, error.reason, error.message);
    return undefined;
  });

  app.get('/admin/holds', { onRequest: guard }, async (request) => {
    const principal = principalOf(request);
    const pendingOnly = (request.query as Record<string, unknown>).pending === 'true';
    // Who is asking, with their roles: the console shows each person the views their roles open.
    return { now: new Date().toISOString(), principal: principal.id, roles: principal.roles, holds: holds.list({ pendingOnly }).slice(0, MAX_LISTED) };
  });

  app.get('/admin/holds/:id', { onRequest: guard, schema: { params: holdParams } }, async (request) => {
    const hold = holds.get((request.params as { id: string }).id);
    if (!hold) throw new HoldError('not-found', 'no such hold');
    return { hold };
  });

  app.post(
    '/admin/holds/:id/approve',
    { onRequest: guard, bodyLimit: ADMIN_BODY_LIMIT, schema: { params: holdParams, body: approveBody } },
    async (request) => {
      const principal = principalOf(request);
      const body = request.body as { digest: string; revision?: string; reason?: string };
      const confirm: { digest: string; revision?: string; reason?: string } = { digest: body.digest };
      if (body.revision !== undefined) confirm.revision = body.revision;
      if (body.reason !== undefined) confirm.reason = body.reason;
      return { hold: await holds.decide((request.params as { id: string }).id, principal, { verdict: 'approve', ...confirm }) };
    },
  );

  app.post(
    '/admin/holds/:id/deny',
    { onRequest: guard, bodyLimit: ADMIN_BODY_LIMIT, schema: { params: holdParams, body: denyBody } },
    async (request) => {
      const principal = principalOf(request);
      const { reason } = (request.body ?? {}) as { reason?: string };
      return { hold: await holds.decide((request.params as { id: string }).id, principal, reason === undefined ? { verdict: 'deny' } : { verdict: 'deny', reason }) };
    },
  );

  app.get('/admin/pins', { onRequest: guard }, async () => {
    return { tools: pins.quarantined() };
  });

  app.post('/admin/pins/approve', { onRequest: guard, bodyLimit: ADMIN_BODY_LIMIT, schema: { body: pinApproveBody } }, async (request) => {
    const principal = principalOf(request);
    requireRole(principal, APPROVER_ROLE, 'not-an-approver');
    const { server, tool, hash } = request.body as { server: string; tool: string; hash: string };
    return { event: pins.approve(server, tool, hash, principal.id) };
  });

  app.get('/admin/console', consoleAsset('text/html; charset=utf-8', CONSOLE_HTML));
  app.get('/admin/console/console.js', consoleAsset('text/javascript; charset=utf-8', CONSOLE_JS));
  app.get('/admin/console/console.css', consoleAsset('text/css; charset=utf-8', CONSOLE_CSS));
  app.get('/admin/console/icon.svg', consoleAsset('image/svg+xml', CONSOLE_ICON));
};
