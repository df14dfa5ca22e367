/**
 * Admin routes for people who decide: the hold API, quarantined-tool review
 * and the approvals console. Mounted on the gateway's fastify instance; every
 * API call needs an admin identity (token or admin certificate) and passes a
 * CSRF guard (custom header + same-origin check), since a browser sends
 * client certificates on its own.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialSource } from '../holds/approver-auth.js';
import { GatewayError } from '../errors.js';
import { HoldError } from '../holds/errors.js';
import { APPROVER_ROLE, type HoldStore } from '../holds/store.js';
import type { Principal } from '../holds/types.js';
import { CONSOLE_JS } from '../holds/console/console.js.js';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_ICON } from '../holds/console/page.html.js';
import { PinError, type PinStore } from '../pinning/store.js';

export interface AdminHoldsOptions {
  holds: HoldStore;
  pins: PinStore;
  authenticate: (request: CredentialSource) => Principal | undefined;
}

export const CSRF_HEADER = 'x-portcullis-csrf';

const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const ADMIN_BODY_LIMIT = 16 * 1024;
/** Newest holds returned by one listing (finished ones are in the journal). */
const MAX_LISTED = 500;

class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}

/** Cross-site requests are refused: a browser must send our header and, if it names an origin, ours. */
function checkSameOrigin(request: FastifyRequest): void {
  if (request.headers[CSRF_HEADER] !== '1') {
    throw new AdminError(403, 'csrf', `the ${CSRF_HEADER} header is required`);
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new AdminError(403, 'csrf', 'cross-site requests are not allowed');
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `https://${request.headers.host ?? ''}`) {
    throw new AdminError(403, 'csrf', 'cross-origin requests are not allowed');
  }
}

function adminOf(request: FastifyRequest, authenticate: AdminHoldsOptions['authenticate']): Principal {
  const principal = authenticate(request.raw);
  if (!principal) throw new AdminError(401, 'unauthenticated', 'an admin token or admin client certificate is required');
  if (principal.kind === 'unlisted') throw new AdminError(403, 'not-an-approver', `${principal.id} is not an approver (not listed under holds.approvers)`);
  if (principal.kind !== 'admin') throw new AdminError(403, 'agent-identity', 'agent identities cannot use the admin API');
  return principal;
}

function requireApprover(principal: Principal): void {
  if (!principal.roles.includes(APPROVER_ROLE)) throw new AdminError(403, 'not-an-approver', 'the approver role is required');
}

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

  // The edge keeps MCP bodies as raw text; admin routes take parsed JSON (this context only).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new AdminError(400, 'invalid-request', 'the body is not valid JSON'), undefined);
    }
  });

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });

  app.setErrorHandler((error: FastifyError | AdminError | HoldError | PinError | GatewayError, request, reply) => {
    if (error instanceof AdminError) return sendError(reply, error.status, error.code, error.message);
    if (error instanceof HoldError) return sendError(reply, error.status, error.reason, error.message);
    if (error instanceof PinError) return sendError(reply, error.reason === 'not-quarantined' ? 404 : 409, error.reason, error.message);
    // The edge's own checks (Host, duplicate Host) run before any admin route and answer as they do everywhere.
    if (error instanceof GatewayError) return sendError(reply, error.http, error.kind, error.message);
    if (error.validation) return sendError(reply, 400, 'invalid-request', `${error.validationContext ?? 'request'} ${error.message}`);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, 'invalid-request', error.message);
    request.log.error({ err: { name: error.name } }, 'admin route failed');
    return sendError(reply, 500, 'internal', 'internal error');
  });

  // Runs before the body is read: strangers learn nothing about what a valid request looks like.
  const principals = new WeakMap<FastifyRequest, Principal>();
  const guard = async (request: FastifyRequest): Promise<void> => {
    checkSameOrigin(request);
    principals.set(request, adminOf(request, authenticate));
  };
  const principalOf = (request: FastifyRequest): Principal => {
    const principal = principals.get(request);
    if (!principal) throw new AdminError(401, 'unauthenticated', 'an admin token or admin client certificate is required');
    return principal;
  };

  app.get('/admin/holds', { onRequest: guard }, async (request) => {
    const principal = principalOf(request);
    const pendingOnly = (request.query as Record<string, unknown>).pending === 'true';
    return { now: new Date().toISOString(), principal: principal.id, holds: holds.list({ pendingOnly }).slice(0, MAX_LISTED) };
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
      return { hold: holds.approve((request.params as { id: string }).id, principal, confirm) };
    },
  );

  app.post(
    '/admin/holds/:id/deny',
    { onRequest: guard, bodyLimit: ADMIN_BODY_LIMIT, schema: { params: holdParams, body: denyBody } },
    async (request) => {
      const principal = principalOf(request);
      const { reason } = (request.body ?? {}) as { reason?: string };
      return { hold: holds.deny((request.params as { id: string }).id, principal, reason) };
    },
  );

  app.get('/admin/pins', { onRequest: guard }, async () => {
    return { tools: pins.quarantined() };
  });

  app.post('/admin/pins/approve', { onRequest: guard, bodyLimit: ADMIN_BODY_LIMIT, schema: { body: pinApproveBody } }, async (request) => {
    const principal = principalOf(request);
    requireApprover(principal);
    const { server, tool, hash } = request.body as { server: string; tool: string; hash: string };
    return { event: pins.approve(server, tool, hash, principal.id) };
  });

  const asset = (type: string, body: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.header('content-type', type).header('content-security-policy', CONSOLE_CSP).send(body);
  app.get('/admin/console', asset('text/html; charset=utf-8', CONSOLE_HTML));
  app.get('/admin/console/console.js', asset('text/javascript; charset=utf-8', CONSOLE_JS));
  app.get('/admin/console/console.css', asset('text/css; charset=utf-8', CONSOLE_CSS));
  app.get('/admin/console/icon.svg', asset('image/svg+xml', CONSOLE_ICON));
};
