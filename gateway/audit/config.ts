/** The `audit` section of portcullis.yaml: schema fragment, type and defaults. */

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface AuditConfig {
  /** Folder of the JSON-lines files; created 0700 when missing. */
  dir: string;
  /** always: every batch is on disk before its calls proceed; interval: every fsync_interval_ms; never: left to the OS. */
  fsync: FsyncPolicy;
  fsync_interval_ms: number;
  /** A signed checkpoint after this many records... */
  checkpoint_every: number;
  /** ...or after this many seconds with unsigned records, whichever comes first. */
  checkpoint_seconds: number;
  /** A new file once the current one reaches this size... */
  rotate_bytes: number;
  /** ...or this age. The hash chain continues across files. */
  rotate_seconds: number;
  /** Longest string kept in an audit field before it is cut with a marker. */
  max_field_length: number;
  /** After a write failure calls are refused; the log is reopened (and recovered) this often. */
  retry_seconds: number;
}

export const AUDIT_DEFAULTS: Omit<AuditConfig, 'dir'> = {
  fsync: 'always',
  fsync_interval_ms: 1000,
  checkpoint_every: 1000,
  checkpoint_seconds: 60,
  rotate_bytes: 64 * 1024 * 1024,
  rotate_seconds: 86_400,
  max_field_length: 4096,
  retry_seconds: 5,
};

export const auditConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['dir'],
  properties: {
    dir: { type: 'string', minLength: 1 },
    fsync: { enum: ['always', 'interval', 'never'], default: AUDIT_DEFAULTS.fsync },
    fsync_interval_ms: { type: 'integer', minimum: 10, maximum: 60_000, default: AUDIT_DEFAULTS.fsync_interval_ms },
    checkpoint_every: { type: 'integer', minimum: 1, maximum: 10_000_000, default: AUDIT_DEFAULTS.checkpoint_every },
    checkpoint_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 86_400, default: AUDIT_DEFAULTS.checkpoint_seconds },
    rotate_bytes: { type: 'integer', minimum: 4096, maximum: 2 ** 40, default: AUDIT_DEFAULTS.rotate_bytes },
    rotate_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 31_536_000, default: AUDIT_DEFAULTS.rotate_seconds },
    max_field_length: { type: 'integer', minimum: 64, maximum: 1_048_576, default: AUDIT_DEFAULTS.max_field_length },
    retry_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600, default: AUDIT_DEFAULTS.retry_seconds },
  },
} as const;
