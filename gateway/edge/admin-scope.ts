/**
 * What every admin route plugin shares: JSON bodies (the edge keeps MCP
 * bodies raw) checked strictly against the route's schema, security
 * headers, one error shape `{error: {code, message}}`, and the guard that
 * runs before a body is read: a CSRF check (custom header and same-origin,
 * since a browser sends client certificates on its own) and an admin
 * identity (token or admin certificate).
 */
import { Ajv } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { CredentialSource } from '../holds/approver-auth.js';
import type { Principal } from '../holds/types.js';

export const CSRF_HEADER = 'x-portcullis-csrf';

export const ADMIN_BODY_LIMIT = 16 * 1024;

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

/** A route handler serving one console file under the console's CSP. */
export const consoleAsset = (type: string, body: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
  reply.header('content-type', type).header('content-security-policy', CONSOLE_CSP).send(body);

export type AdminAuthenticator = (request: CredentialSource) => Principal | undefined;

/**
 * Route schemas are checked as written: an unknown key is refused, not
 * dropped (fastify's own validator removes them, so a misspelt `revison`
 * would approve without the revision check), and nothing is coerced.
 */
const strictSchemas = new Ajv({ allErrors: false, strict: true });

/** A refused request part, in words: an unknown key is named. */
function validationMessage(error: FastifyError): string {
  const where = error.validationContext ?? 'request';
  const first = error.validation?.[0];
  const key = first?.keyword === 'additionalProperties' ? first.params.additionalProperty : undefined;
  return typeof key === 'string' ? `${where} has an unknown key "${key}"` : `${where} ${error.message}`;
}

export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: string): FastifyReply {
  return reply.code(status).send({ error: details === undefined ? { code, message } : { code, message, details } });
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

function adminOf(request: FastifyRequest, authenticate: AdminAuthenticator): Principal {
  const principal = authenticate(request.raw);
  if (!principal) throw new AdminError(401, 'unauthenticated', 'an admin token or admin client certificate is required');
  if (principal.kind === 'unlisted') throw new AdminError(403, 'not-an-approver', `${principal.id} is not an approver (not listed under holds.approvers)`);
  if (principal.kind !== 'admin') throw new AdminError(403, 'agent-identity', 'agent identities cannot use the admin API');
  return principal;
}

/** A role the route needs beyond being an admin. */
export function requireRole(principal: Principal, role: string, code: string): void {
  if (!principal.roles.includes(role)) throw new AdminError(403, code, `the ${role} role is required`);
}

export interface AdminScope {
  /** onRequest hook: the CSRF check and the admin identity, before the body is read. */
  guard: (request: FastifyRequest) => Promise<void>;
  principalOf: (request: FastifyRequest) => Principal;
}

/**
 * Sets up this plugin context for admin routes. `handle` maps the plugin's
 * own errors to a reply (undefined: not one of them).
 */
export function adminScope(
  app: FastifyInstance,
  authenticate: AdminAuthenticator,
  handle: (error: Error, reply: FastifyReply) => FastifyReply | undefined = () => undefined,
): AdminScope {
  app.setValidatorCompiler(({ schema }) => strictSchemas.compile(schema));
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

  app.setErrorHandler((error: FastifyError | AdminError | GatewayError, request, reply) => {
    if (error instanceof AdminError) return sendError(reply, error.status, error.code, error.message);
    const handled = handle(error, reply);
    if (handled !== undefined) return handled;
    // Registered refusals (and the edge's own checks, Host and duplicate Host, which run before any admin route).
    if (error instanceof GatewayError) return sendError(reply, error.http, error.kind, error.message, typeof error.data === 'string' ? error.data : undefined);
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) return sendError(reply, 400, 'invalid-request', validationMessage(fastifyError));
    const status = fastifyError.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, 'invalid-request', fastifyError.message);
    request.log.error({ err: { name: error.name } }, 'admin route failed');
    return sendError(reply, 500, 'internal', 'internal error');
  });

  // Runs before the body is read: strangers learn nothing about what a valid request looks like.
  const principals = new WeakMap<FastifyRequest, Principal>();
  return {
    guard: async (request) => {
      checkSameOrigin(request);
      principals.set(request, adminOf(request, authenticate));
    },
    principalOf: (request) => {
      const principal = principals.get(request);
      if (!principal) throw new AdminError(401, 'unauthenticated', 'an admin token or admin client certificate is required');
      return principal;
    },
  };
}
