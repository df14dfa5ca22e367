/**
 * Gateway configurations the bench measures. Audit is switched by its
 * portcullis.yaml section; a section the gateway's config schema does not
 * (yet) have is reported as unavailable rather than silently measured as
 * "on". Response inspection has no config switch (it is a pipeline stage
 * driven by the policy's response decisions), so the bench isolates its cost
 * with a decider that answers tool results without asking the policy.
 */
import { SECTIONS } from '../gateway/config/sections.js';

export interface GatewaySetup {
  /** allow-all: no policy (plain mTLS proxy); default: the compiled policies/ folder. */
  policy: 'allow-all' | 'default';
  /** With the default policy: are tool results decided by it too (response inspection)? */
  inspectResults: boolean;
  /** Extra portcullis.yaml sections; relative paths resolve in the gateway's temporary folder. */
  sections: Record<string, unknown>;
}

/** What bench/gateway-process.ts reports over IPC once listening. */
export interface GatewayReady {
  type: 'ready';
  url: string;
  ca: string;
  cert: string;
  key: string;
}

export interface GatewayFailed {
  type: 'error';
  message: string;
}

/** Defaults as a user gets them (fsync always, signed checkpoints). */
const AUDIT_SECTION = { audit: { dir: 'audit' } };

export function auditAvailable(): boolean {
  return Object.hasOwn(SECTIONS, 'audit');
}

export type ControlId = 'plain' | 'policy' | 'audit' | 'inspection' | 'all';

export interface ControlStep {
  id: ControlId;
  label: string;
  setup: GatewaySetup;
  /** Why this step cannot be measured; undefined when it can. */
  unavailable?: string;
}

/** Portcullis as issue 2 measures it: mTLS and the default compiled policy (requests and results). */
export const DEFAULT_SETUP: GatewaySetup = { policy: 'default', inspectResults: true, sections: {} };

/** Every control on, as a firewall runs: DEFAULT_SETUP plus the audit trail (fsync always). Without an audit section, DEFAULT_SETUP. */
export function everythingOn(sections: Record<string, unknown> = {}): GatewaySetup {
  return { ...DEFAULT_SETUP, sections: { ...(auditAvailable() ? AUDIT_SECTION : {}), ...sections } };
}

/** The ladder of issue 5: plain proxy, + policy, + audit, + inspection, all on. */
export function controlLadder(): ControlStep[] {
  const audit = auditAvailable() ? AUDIT_SECTION : {};
  const withAudit: ControlStep = { id: 'audit', label: '+ policy + audit', setup: { policy: 'default', inspectResults: false, sections: audit } };
  if (!auditAvailable()) withAudit.unavailable = 'gateway config has no "audit" section yet';
  return [
    { id: 'plain', label: 'plain proxy (no policy)', setup: { policy: 'allow-all', inspectResults: false, sections: {} } },
    { id: 'policy', label: '+ policy (requests)', setup: { policy: 'default', inspectResults: false, sections: {} } },
    withAudit,
    { id: 'inspection', label: '+ policy + inspection (results)', setup: DEFAULT_SETUP },
    { id: 'all', label: auditAvailable() ? 'all on' : 'all on (without audit)', setup: everythingOn() },
  ];
}
