/**
 * The gateway's one log-function type. Whoever supplies it sanitizes every
 * line (edge/logger.ts); `fields` carry names and counts, never message contents.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogSink = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;
