/**
 * Why a model request failed, and what to do about it: retry (and then fail
 * over) on overload, rate limits, server errors, timeouts, broken connections
 * and unreadable answers; stop on 400/401/403/404, which a retry cannot fix
 * (a wrong key or model name: a configuration error).
 */
import { APICallError } from '@ai-sdk/provider';

/** What kind of failure, from a fixed set (the metrics' outcome label); `cancelled`: the run ended the attempt (classify never says it). */
export type FailureKind = 'rate_limited' | 'overloaded' | 'server_error' | 'timeout' | 'connection_error' | 'unreadable' | 'refused' | 'cancelled';

export interface Failure {
  /** Short, secret-free reason for the transcript: "429 rate limited", "connection reset"... */
  reason: string;
  kind: FailureKind;
  /** Worth retrying, then failing over. */
  retryable: boolean;
  /** HTTP status, when the provider answered. */
  status?: number;
  /** The provider's Retry-After, in milliseconds. */
  retryAfterMs?: number;
}

const STATUS_REASONS: Record<number, string> = {
  400: 'bad request (model name or parameters?)',
  401: 'unauthorized (API key?)',
  403: 'forbidden (API key or model access?)',
  404: 'not found (model name or base URL?)',
  408: 'request timeout',
  409: 'conflict',
  429: 'rate limited',
  500: 'server error',
  502: 'bad gateway',
  503: 'unavailable',
  504: 'gateway timeout',
  529: 'overloaded',
};

/** Retry-After as seconds or an HTTP date, in ms; also the retry-after-ms header some providers send. */
function retryAfter(headers: Record<string, string> | undefined, now = Date.now()): number | undefined {
  if (headers === undefined) return undefined;
  const ms = Number(headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The first `code` on the cause chain (fetch wraps the socket's error). */
function socketCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The kind of an HTTP failure: 400/401/403/404 and other statuses a retry cannot fix are `refused`. */
function statusKind(status: number): FailureKind {
  if (status === 429) return 'rate_limited';
  if (status === 529) return 'overloaded';
  if (status === 408) return 'timeout';
  if (status === 409 || status >= 500) return 'server_error';
  return 'refused';
}

export function classify(err: unknown, timedOut: boolean): Failure {
  if (timedOut) return { reason: 'timeout', kind: 'timeout', retryable: true };
  if (APICallError.isInstance(err) && err.statusCode !== undefined && err.statusCode >= 300) {
    const status = err.statusCode;
    const reason = `${status} ${STATUS_REASONS[status] ?? 'error'}`;
    const kind = statusKind(status);
    const failure: Failure = { reason, kind, status, retryable: kind !== 'refused' };
    const after = retryAfter(err.responseHeaders);
    if (after !== undefined) failure.retryAfterMs = after;
    return failure;
  }
  const code = socketCode(err);
  if (code !== undefined) return { reason: `connection error (${code})`, kind: 'connection_error', retryable: true };
  // An APICallError with a success status: the provider answered, with a body the SDK could not read.
  if (APICallError.isInstance(err) && err.statusCode === undefined) return { reason: 'connection error', kind: 'connection_error', retryable: true };
  // Anything else from the SDK is an answer it could not read (malformed JSON, an unexpected shape, an empty stream).
  const name = err instanceof Error ? err.name : 'error';
  return { reason: `unreadable answer (${name})`, kind: 'unreadable', retryable: true };
}
