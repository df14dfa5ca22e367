/**
 * Collects the evidence sections from a configuration: offline from the
 * folders it names (an auditor's `portcullis report`), or for the admin
 * evidence API from the running gateway, whose live holds and metrics
 * replace the journal and the (offline absent) metrics snapshot. A section
 * that cannot be collected says why; nothing is guessed.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EVIDENCE_SECTIONS, type EvidenceBundle, type EvidenceSectionName, type HoldEvidence, type MetricSample, type Period } from '../client/evidence.js';
import { resolveConfigPath } from '../config/load.js';
import { configuredPki } from '../config/pki-files.js';
import type { PortcullisConfig } from '../config/sections.js';
import { auditEvidence } from './audit.js';
import { configEvidence } from './config.js';
import { readHoldJournal, readPinFile } from './holds-pins.js';
import { pkiEvidence } from './pki.js';
import { policyEvidence } from './policy.js';

export interface EvidenceSources {
  config: PortcullisConfig;
  /** The running policy's revision (a gateway answering); offline: the revision of what is on disk. */
  revision?: string;
  /** The live hold store; offline: the journal (holds.file). */
  holds?: () => HoldEvidence[];
  /** The live metrics registry; offline there is no snapshot. */
  metrics?: () => Promise<MetricSample[]>;
}

function unavailable(reason: string): { available: false; reason: string } {
  return { available: false, reason };
}

function because(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (err instanceof Error ? err.message : 'unreadable');
}

/** Checkpoints are signed with the gateway's TLS key: its certificate verifies them. */
function gatewayPublicKey(config: PortcullisConfig): KeyObject {
  return createPublicKey(readFileSync(configuredPki(config).serverCert, 'utf8'));
}

async function section(name: EvidenceSectionName, sources: EvidenceSources, period: Period): Promise<unknown> {
  const { config } = sources;
  switch (name) {
    case 'audit': {
      if (config.audit === undefined) return unavailable('no audit section in the configuration: nothing was audited');
      let key;
      try {
        key = gatewayPublicKey(config);
      } catch {
        key = undefined;
      }
      return { available: true, ...(await auditEvidence(resolveConfigPath(config, config.audit.dir), key, period)) };
    }
    case 'config':
      return { available: true, ...configEvidence(config) };
    case 'policy': {
      const location = resolveConfigPath(config, config.policy.bundle ?? config.policy.dir);
      return { available: true, ...policyEvidence(location, sources.revision) };
    }
    case 'pki':
      return { available: true, ...pkiEvidence(config) };
    case 'holds': {
      if (sources.holds !== undefined) return { available: true, holds: sources.holds() };
      const file = config.holds.file;
      if (file === undefined) return unavailable('holds.file is not set: hold outcomes are not journaled');
      return { available: true, holds: readHoldJournal(resolveConfigPath(config, file)) };
    }
    case 'pins': {
      const file = config.pinning.file;
      if (file === undefined) return unavailable('pinning.file is not set: pins are not persisted');
      return { available: true, pins: readPinFile(resolveConfigPath(config, file)) };
    }
    case 'metrics':
      if (sources.metrics === undefined) return unavailable('no metrics snapshot offline: metrics live in the running gateway');
      return { available: true, samples: await sources.metrics() };
  }
}

/** One section, or why it could not be collected. */
export async function collectSection(name: EvidenceSectionName, sources: EvidenceSources, period: Period): Promise<unknown> {
  try {
    return await section(name, sources, period);
  } catch (err) {
    return unavailable(`${name}: ${because(err)}`);
  }
}

/** Every section, read from the folders the configuration names. */
export async function collectEvidence(sources: EvidenceSources, period: Period): Promise<EvidenceBundle> {
  const collected: Partial<Record<EvidenceSectionName, unknown>> = {};
  for (const name of EVIDENCE_SECTIONS) collected[name] = await collectSection(name, sources, period);
  return { collected_at: new Date().toISOString(), source: 'offline', ...(collected as Omit<EvidenceBundle, 'collected_at' | 'source'>) };
}
