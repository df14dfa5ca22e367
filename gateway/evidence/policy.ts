/**
 * The policy section of the evidence: the revision, the Rego modules (by
 * digest), the result of running the policy's own Rego tests now, and its
 * data document (the grants). A bundle or module carries no sources to test.
 */
import { createHash } from 'node:crypto';
import type { PolicyEvidence } from '../client/evidence.js';
import { currentRevision, locatePolicy } from '../policy/bundle/artifact.js';
import { isTestModule, policyModules, readPolicySources } from '../policy/bundle/sources.js';
import { policyAnnotations } from '../policy/annotations.js';
import { runRegoTests } from '../policy/rego-test.js';

/** Rules linked to controls by their `# METADATA` `custom.controls` (e.g. ["iso27001:A.8.15"]). */
function controlLinks(sources: ReturnType<typeof readPolicySources>): PolicyEvidence['annotations'] {
  return policyAnnotations(policyModules(sources)).flatMap((a) => {
    const controls = (a.annotations.custom as { controls?: unknown } | undefined)?.controls;
    const names = Array.isArray(controls) ? controls.filter((c): c is string => typeof c === 'string') : [];
    return names.length === 0 ? [] : [{ file: a.file, rule: a.path.join('.'), controls: names }];
  });
}

function testsOf(sources: Parameters<typeof runRegoTests>[0]): PolicyEvidence['tests'] {
  try {
    const report = runRegoTests(sources);
    return { ran: true, passed: report.passed, failed: report.failed, errored: report.errored, skipped: report.skipped };
  } catch (err) {
    return { ran: false, passed: 0, failed: 0, errored: 0, skipped: 0, reason: `the policy does not compile: ${err instanceof Error ? err.message : 'error'}` };
  }
}

/** `location`: the policy folder, bundle or module; `revision`: the running one when a gateway answers (else what is on disk). */
export function policyEvidence(location: string, revision?: string): PolicyEvidence {
  const where = locatePolicy(location);
  const common = { revision: revision ?? currentRevision(where), kind: where.kind };
  if (where.kind !== 'folder') {
    return { ...common, annotations: [], annotations_supported: false, modules: [], tests: { ran: false, passed: 0, failed: 0, errored: 0, skipped: 0, reason: `a ${where.kind} carries no Rego sources` }, data: {} };
  }
  const sources = readPolicySources(where.path);
  const modules = Object.entries(sources.modules).map(([file, text]) => ({
    file,
    sha256: createHash('sha256').update(text).digest('hex'),
    lines: text.split('\n').length,
    test: isTestModule(file),
  }));
  return { ...common, annotations: controlLinks(sources), annotations_supported: true, modules, tests: testsOf(sources), data: sources.data };
}
