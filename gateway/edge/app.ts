/**
 * The HTTP edge (fastify): TLS, body limit, timeouts, Host/Origin checks,
 * authentication, and the routes. Everything MCP happens in McpHttp.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authMethods } from '../config/spine-schema.js';
import type { ListenConfig } from '../config/spine-schema.js';
import { GatewayError } from '../errors.js';
import type { ErrorName } from '../errors.js';
import type { RefusalRecorder } from '../audit/index.js';
import { ERRORS } from '../errors.js';
import type { AgentIdentity } from '../identity/agent.js';
import { bearerToken } from '../identity/jwt.js';
import { bearerChallenge, PROTECTED_RESOURCE_METADATA } from '../identity/oauth.js';
import type { OAuthAuthenticator } from '../identity/oauth.js';
import type { RevocationList } from '../identity/revocation.js';
import { writeHttpError } from '../mcp/http-io.js';
import type { McpHttp } from '../mcp/endpoint.js';
import type { Endpoint } from '../pipeline/context.js';
import { certificateVerified, presentedCertificate } from './authenticate.js';
import type { Authenticate } from './authenticate.js';
import { RevocationEnforcement } from './revocation-enforcement.js';
import { HostOriginGuard, hostGivenOnce } from '../protocol/host-origin.js';
import type { LogSink } from '../util/log.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  ca: string;
}

export interface EdgeOptions {
  listen: ListenConfig;
  /** Names of this listener besides loopback (tls.server_names): accepted as Host with the bound port. */
  serverNames?: readonly string[];
  tls: TlsMaterial;
  /** Revoked certificates, identities and tokens: checked on new connections and every request; a change closes what it revokes. */
  revocation?: RevocationList;
  authenticate: Authenticate;
  /** MCP authorization, when `listen.auth` names oauth: serves the resource metadata and names it in 401 challenges. */
  oauth?: OAuthAuthenticator;
  /** Every request the edge refuses is accounted for here. */
  refusals: RefusalRecorder;
  mcp: McpHttp;
  knownServer(name: string): boolean;
  /** Readiness report; `ready` false answers 503. */
  readiness(): { ready: boolean; [key: string]: unknown };
  log: LogSink;
  /** Fastify's own logger (sanitizing pino); without it fastify logs nothing itself. */
  logger?: FastifyBaseLogger;
}

/** TLS handshakes that take longer than this are dropped (stalled or hostile clients). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

const FASTIFY_ERRORS: Record<string, ErrorName> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'bodyTooLarge',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupportedMediaType',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bodyTooLarge',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'parseError',
};

declare module 'fastify' {
  interface FastifyRequest {
    agent?: AgentIdentity;
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Only JSON is a message: any other body type (text/plain, forms, none at all) is refused with 415. */
function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(?:;|$)/i.test(contentType);
}

/** The URL a listener on `host`:`port` is reached at (a wildcard address by localhost). */
export function listenerUrl(host: string, port: number): string {
  const name = host.includes(':') ? `[${host}]` : host;
  return `https://${name === '0.0.0.0' ? 'localhost' : name}:${port}`;
}

/** A path of the OAuth protected resource metadata (RFC 9728: the well-known path, or it with the resource's path appended). */
function metadataPath(path: string): boolean {
  return path === PROTECTED_RESOURCE_METADATA || path.startsWith(`${PROTECTED_RESOURCE_METADATA}/`);
}

export async function buildEdge(options: EdgeOptions): Promise<FastifyInstance> {
  const methods = authMethods(options.listen);
  const mtls = methods.includes('mtls');
  const bearer = methods.includes('jwt') || methods.includes('oauth');
  const app = Fastify({
    // Each decision is logged by the pipeline; per-request lines would only repeat it.
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger, logController: new LogController({ disableRequestLogging: true }) }),
    bodyLimit: options.listen.body_limit_bytes,
    requestTimeout: options.listen.request_timeout_ms,
    keepAliveTimeout: options.listen.keep_alive_timeout_ms,
    return503OnClosing: true,
    https: {
      key: options.tls.key,
      cert: options.tls.cert,
      ca: options.tls.ca,
      // A certificate is asked for, not required: without one a request needs a bearer token
      // (401 otherwise), and /healthz answers anyone. A certificate that does not verify is refused below.
      requestCert: mtls,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // node:https server options: how often request deadlines are enforced (default 30 s).
      connectionsCheckingInterval: Math.min(1000, options.listen.request_timeout_ms),
    },
  });

  // Node enforces an unfinished request's deadline through headersTimeout too; keep both equal.
  app.server.headersTimeout = options.listen.request_timeout_ms;

  const revocation =
    options.revocation === undefined ? undefined : new RevocationEnforcement(options.revocation, (refused) => options.mcp.closeSessions(refused), options.log);
  app.server.on('secureConnection', (socket: TLSSocket) => {
    if (mtls && !socket.authorized && presentedCertificate(socket)) {
      // Foreign CA, expired, not yet valid: refused as the handshake would have, whatever else the client sends.
      const remote = socket.remoteAddress;
      options.refusals.refuse({ reason: 'unauthenticated', code: ERRORS.unauthenticated.code, ...(remote === undefined ? {} : { remote }) });
      socket.destroy();
      return;
    }
    revocation?.connected(socket, certificateVerified(socket));
  });
  if (revocation !== undefined) app.addHook('onClose', async () => revocation.close());
  // Authentication fails closed: whatever it throws is a 401, never a 500.
  const authenticationFailure = (err: unknown): GatewayError => {
    if (err instanceof GatewayError) return err;
    options.log('error', 'authentication failed unexpectedly', { error: err instanceof Error ? err.name : 'unknown' });
    return new GatewayError('unauthenticated', 'credentials could not be checked');
  };

  // A failed handshake is a refused attempt too.
  app.server.on('tlsClientError', (_error: Error, socket: TLSSocket) => {
    const remote = socket.remoteAddress;
    options.refusals.refuse({ reason: 'unauthenticated', code: ERRORS.unauthenticated.code, ...(remote === undefined ? {} : { remote }) });
  });

  // Bodies are kept as text: McpHttp parses them and answers bad JSON with a JSON-RPC error.
  // Fastify's text/plain parser goes: no other body type reaches a handler.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  /**
   * RFC 6750 and MCP authorization: a 401 on a listener that takes bearer tokens says how to
   * get one (the OAuth resource metadata) and, when a token was presented, why it failed.
   */
  const challenge = (request: FastifyRequest, detail: string | undefined): Record<string, string> => {
    if (!bearer) return {};
    const invalid = bearerToken(firstHeader(request.headers.authorization)) === undefined ? undefined : (detail ?? 'invalid token');
    const value = options.oauth?.challenge(invalid) ?? bearerChallenge({ realm: 'portcullis', ...(invalid === undefined ? {} : { error: 'invalid_token', error_description: invalid }) });
    return { 'www-authenticate': value };
  };

  const refused = (request: FastifyRequest, reason: ErrorName): void => {
    const remote = request.socket.remoteAddress;
    options.refusals.refuse({
      reason,
      code: ERRORS[reason].code,
      ...(request.agent === undefined ? {} : { agent: request.agent.id }),
      ...(remote === undefined ? {} : { remote }),
    });
  };

  // The Host allowlist needs the bound port (port 0 picks one at listen time).
  let guard: HostOriginGuard | undefined;
  app.server.on('listening', () => {
    const address = app.server.address();
    if (typeof address === 'object' && address !== null) {
      const named = (options.serverNames ?? []).map((name) => `${name}:${address.port}`);
      guard = new HostOriginGuard(address.port, [...options.listen.allowed_hosts, ...named], options.listen.allowed_origins);
      options.oauth?.listening(listenerUrl(options.listen.host, address.port));
    }
  });

  // A callback hook (fastify turns a throw into the error handler's answer): no promise per request for mTLS.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    if (guard === undefined) throw new GatewayError('internalError', 'not listening');
    const path = request.url.split('?', 1)[0] ?? '';
    const revoked = revocation?.certificateRefusal(request.raw.socket as TLSSocket);
    if (revoked !== undefined) {
      // Whatever it asks: the reason (401), then the connection closes.
      reply.raw.setHeader('connection', 'close');
      throw new GatewayError('unauthenticated', revoked);
    }
    // Liveness answers anyone, whatever Host a probe sends: it says only that the process is up.
    if (path === '/healthz') return done();
    // Admin routes (admin-holds.ts) check same-origin requests and authenticate admins themselves.
    const admin = request.url.startsWith('/admin/');
    if (!hostGivenOnce(request.raw.rawHeaders)) throw new GatewayError('forbiddenHost', 'Host given more than once');
    guard.check(firstHeader(request.headers.host), admin ? undefined : firstHeader(request.headers.origin));
    // Where certificates are the only credential, a connection without one reaches /healthz and nothing else (admin routes included).
    if (!bearer && !certificateVerified(request.raw.socket as TLSSocket)) throw new GatewayError('unauthenticated', 'client certificate required');
    // The resource metadata is how a client without a token learns where to get one.
    if (admin || (options.oauth !== undefined && metadataPath(path))) return done();
    const accept = (agent: AgentIdentity): void => {
      revocation?.admit(request.raw.socket as TLSSocket, agent);
      request.agent = agent;
    };
    let identity: AgentIdentity | Promise<AgentIdentity>;
    try {
      identity = options.authenticate(request.raw as IncomingMessage);
      if (!(identity instanceof Promise)) {
        accept(identity);
        return done();
      }
    } catch (err) {
      return done(authenticationFailure(err));
    }
    identity.then(accept).then(
      () => done(),
      (err: unknown) => done(authenticationFailure(err)),
    );
  });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply: FastifyReply) => {
    let name: ErrorName = 'internalError';
    let detail: string | undefined;
    if (error instanceof GatewayError) {
      name = error.kind;
      detail = error.detail;
    } else if (error.code !== undefined && FASTIFY_ERRORS[error.code] !== undefined) {
      name = FASTIFY_ERRORS[error.code] as ErrorName;
    } else if (error.statusCode === 408) {
      name = 'requestTimeout';
    } else if (error.statusCode !== undefined && error.statusCode < 500) {
      name = 'invalidRequest';
    } else {
      options.log('error', 'edge error', { error: error.name, code: error.code ?? 'none' });
    }
    refused(request, name);
    reply.hijack();
    writeHttpError(reply.raw, name, null, detail, name === 'unauthenticated' ? challenge(request, detail) : {});
  });

  app.setNotFoundHandler((request, reply) => {
    refused(request, 'notFound');
    reply.hijack();
    writeHttpError(reply.raw, 'notFound');
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  const oauth = options.oauth;
  if (oauth !== undefined) {
    const metadata = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const suffix = (request.url.split('?', 1)[0] ?? '').slice(PROTECTED_RESOURCE_METADATA.length);
      reply.hijack();
      if (!oauth.servesMetadataAt(suffix)) {
        refused(request, 'notFound');
        writeHttpError(reply.raw, 'notFound');
        return;
      }
      reply.raw.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify(oauth.metadata()));
    };
    app.get(PROTECTED_RESOURCE_METADATA, metadata);
    app.get(`${PROTECTED_RESOURCE_METADATA}/*`, metadata);
  }
  app.get('/readyz', async (_request, reply) => {
    const report = options.readiness();
    return reply.code(report.ready ? 200 : 503).send(report);
  });

  const handle = (endpointOf: (request: FastifyRequest) => Endpoint | undefined) => async (request: FastifyRequest, reply: FastifyReply) => {
    const endpoint = endpointOf(request);
    reply.hijack();
    if (endpoint === undefined) {
      refused(request, 'unknownServer');
      writeHttpError(reply.raw, 'unknownServer', null, (request.params as { server?: string }).server);
      return;
    }
    if (request.method === 'POST' && !isJson(request.headers['content-type'])) {
      refused(request, 'unsupportedMediaType');
      writeHttpError(reply.raw, 'unsupportedMediaType');
      return;
    }
    const call = { req: request.raw, res: reply.raw, agent: request.agent as AgentIdentity, endpoint };
    try {
      if (request.method === 'POST') await options.mcp.post({ ...call, body: typeof request.body === 'string' ? request.body : '' });
      else if (request.method === 'GET') options.mcp.get(call);
      else options.mcp.delete(call);
    } catch (err) {
      options.log('error', 'mcp handler failed', { error: err instanceof Error ? err.name : 'unknown' });
      writeHttpError(reply.raw, 'internalError');
    }
  };
  const aggregate = handle(() => ({ kind: 'aggregate' }));
  const single = handle((request) => {
    const server = (request.params as { server: string }).server;
    return options.knownServer(server) ? { kind: 'server', server } : undefined;
  });
  for (const method of ['POST', 'GET', 'DELETE'] as const) {
    app.route({ method, url: '/mcp', handler: aggregate });
    app.route({ method, url: '/mcp/:server', handler: single });
  }
  const notAllowed = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    refused(request, 'methodNotAllowed');
    reply.hijack();
    writeHttpError(reply.raw, 'methodNotAllowed', null, undefined, { allow: 'GET, POST, DELETE' });
  };
  for (const url of ['/mcp', '/mcp/:server']) app.route({ method: ['PUT', 'PATCH'], url, handler: notAllowed });
  return app;
}
