/** The `metrics` section of portcullis.yaml: schema fragment, type and defaults. */

export interface MetricsConfig {
  enabled: boolean;
  /**
   * Own listener for /metrics (plain HTTP, keep it on loopback or a private
   * network). Without it the gateway serves /metrics behind admin authentication.
   */
  listen?: { host: string; port: number };
  path: string;
  /** process_* and nodejs_* metrics from prom-client. */
  process_metrics: boolean;
  /** Distinct values kept per label (server, tool, reason...); later ones count as "other". */
  max_label_values: number;
}

export const METRICS_DEFAULTS: MetricsConfig = {
  enabled: true,
  path: '/metrics',
  process_metrics: true,
  max_label_values: 100,
};

export const metricsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: METRICS_DEFAULTS.enabled },
    listen: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    path: { type: 'string', pattern: '^/[A-Za-z0-9/_.-]*$', default: METRICS_DEFAULTS.path },
    process_metrics: { type: 'boolean', default: METRICS_DEFAULTS.process_metrics },
    max_label_values: { type: 'integer', minimum: 1, maximum: 10_000, default: METRICS_DEFAULTS.max_label_values },
  },
} as const;
