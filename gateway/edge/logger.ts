/**
 * The gateway's logger: pino (fastify's own logger) writing JSON lines, each
 * passed through the sanitizer as the last step, so no log line can carry a
 * control sequence, a forged line or a secret, whatever produced it.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogConfig } from '../config/spine-schema.js';
import { sanitizingHooks } from '../sanitize/index.js';
import type { LogSink } from '../util/log.js';

/** A sanitizing pino logger on stderr, or on `destination` (tests capture lines there). */
export function createLogger(config: LogConfig, destination?: NodeJS.WritableStream): PinoLogger {
  const options = { level: config.level, hooks: sanitizingHooks() };
  return destination === undefined ? pino(options, pino.destination(2)) : pino(options, destination);
}

/** The pipeline's log function on top of a pino logger. */
export function logSink(logger: PinoLogger): LogSink {
  return (level, message, fields) => logger[level](fields ?? {}, message);
}
