/**
 * The configuration section of the evidence: the effective (validated,
 * defaulted) configuration with secrets redacted, and the facts reports ask
 * about most, derived once here so framework files need no code.
 */
import { authMethods } from '../config/spine-schema.js';
import type { PortcullisConfig } from '../config/sections.js';
import { redactJson } from '../sanitize/json.js';

export function configEvidence(config: PortcullisConfig): { effective: Record<string, unknown>; derived: Record<string, unknown> } {
  const { base_dir: _baseDir, ...effective } = config;
  const tls = config.tls;
  const upstreams = Object.entries(config.upstreams);
  return {
    effective: redactJson(effective).value as Record<string, unknown>,
    derived: {
      auth_methods: [...authMethods(config.listen)],
      own_pki: tls.ca !== undefined,
      audit_configured: config.audit !== undefined,
      rate_limits_configured: config.rate_limits !== undefined && (config.rate_limits.per_agent !== undefined || Object.keys(config.rate_limits.per_server ?? {}).length > 0),
      approvers: Object.keys(config.holds.approvers).length,
      holds_journal: config.holds.file !== undefined,
      pins_persisted: config.pinning.file !== undefined,
      upstream_names: upstreams.map(([name]) => name),
      upstreams_per_agent: upstreams.filter(([, u]) => u.isolation === 'per_agent').map(([name]) => name),
      policy_signed_bundles: config.policy.signing !== undefined,
      policy_tests_gate_reload: config.policy.run_tests,
      metrics_enabled: config.metrics.enabled,
    },
  };
}
