/**
 * The `reports` section of portcullis.yaml: with it, `portcullis start`
 * runs the compliance reporters (agents/reporters) on a schedule. Each
 * reporter reads the evidence through the admin evidence API with its own
 * identity (`reporter-<framework>`, a short-lived certificate from this
 * gateway's CA), so its reading is audited; the reports are signed and kept
 * in `dir` with an index, the oldest removed after `retention_days`.
 *
 * A plain schema fragment importing nothing: the framework names are the
 * files agents/reporters/frameworks/ ships (a test keeps them in step).
 */

/** The reports folder's index of every kept report. */
export const REPORT_INDEX = 'index.json';

export const REPORT_FRAMEWORKS = ['gdpr', 'iso27001', 'iso42001', 'dpga', 'owasp-mcp'] as const;
export const REPORT_FORMATS = ['json', 'html', 'pdf', 'oscal'] as const;

export interface ReportsConfig {
  frameworks: Array<(typeof REPORT_FRAMEWORKS)[number]>;
  /** Five-field cron expression (minute hour day-of-month month day-of-week), in UTC. */
  schedule: string;
  /** What each run writes; json (the signed document) is always written. */
  formats: Array<(typeof REPORT_FORMATS)[number]>;
  /** Folder of the reports and their index.json (relative to the config file). */
  dir: string;
  /** Each run covers this many hours back from the run. */
  period_hours: number;
  /** Reports older than this are removed from the folder and the index. */
  retention_days: number;
}

export const reportsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['schedule'],
  properties: {
    frameworks: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...REPORT_FRAMEWORKS] }, default: [...REPORT_FRAMEWORKS] },
    schedule: { type: 'string', pattern: '^\\S+( \\S+){4}$' },
    formats: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...REPORT_FORMATS] }, default: ['json', 'html'] },
    dir: { type: 'string', minLength: 1, default: 'var/reports' },
    period_hours: { type: 'integer', minimum: 1, maximum: 8784, default: 24 },
    retention_days: { type: 'integer', minimum: 1, maximum: 3650, default: 90 },
  },
} as const;
