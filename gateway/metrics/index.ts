export { GatewayMetrics } from './gateway-metrics.js';
export type { NamedTool, RequestDecision, UpstreamOutcome } from './gateway-metrics.js';
export { metricsConfigSchema, METRICS_DEFAULTS } from './config.js';
export type { MetricsConfig } from './config.js';
export { serveMetrics } from './server.js';
export type { MetricsServer } from './server.js';
export { BoundedLabel, cleanLabelValue, methodLabel, NO_TOOL, OTHER, UNLISTED } from './labels.js';
