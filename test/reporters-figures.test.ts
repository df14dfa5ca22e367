/**
 * The compliance reporters over a trail with known content (written by the
 * real audit writer, hold store and pin store): the figures and statuses
 * they compute are the ones the trail was built with; a tampered trail turns
 * every control that depends on it into insufficient evidence; a subject
 * access request returns exactly the planted records and nothing of anyone else.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { assess, type ControlResult, type Report } from '../agents/reporters/assess.js';
import { FRAMEWORKS, loadFramework, loadQueries } from '../agents/reporters/framework.js';
import type { EvidenceBundle } from '../gateway/client/index.js';
import { collectEvidence } from '../gateway/evidence/collect.js';
import { buildReportDeployment, TRAIL } from './fixtures/report-trail.js';

const queries = loadQueries();

function control(report: Report, id: string): ControlResult {
  const found = report.controls.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no control ${id}`);
  return found;
}

t.test('every shipped framework loads and names only known queries', async (t) => {
  for (const id of FRAMEWORKS) t.ok(loadFramework(id, undefined, queries).controls.length > 0, id);
  t.throws(() => loadFramework('../etc/passwd'), /unknown framework/);
});

t.test('reports over a known trail give its figures', async (t) => {
  const deployment = await buildReportDeployment(t);
  const evidence = await collectEvidence({ config: deployment.config }, {});
  t.ok(evidence.audit.available, 'audit evidence collected');
  if (!evidence.audit.available) return;
  t.equal(evidence.audit.verification.status, 'verified', 'the trail verifies with the gateway certificate');
  t.ok(evidence.holds.available && evidence.pins.available && evidence.pki.available && evidence.policy.available, 'holds, pins, PKI and policy collected');
  t.equal(evidence.metrics.available, false, 'no metrics snapshot offline, and it says so');

  const iso42001 = assess(loadFramework('iso42001', undefined, queries), queries, evidence, { period: {} });
  const oversight = control(iso42001, 'A.9.2');
  t.match(oversight.figures, { proposed: TRAIL.holds, approved: 1, denied: 0, expired: 1, median_decision_s: TRAIL.approvedAfterS, longest_decision_s: TRAIL.approvedAfterS, approvers: 1 });
  t.equal(oversight.status, 'partly', 'a hold expired: human oversight is only partly evidenced');
  t.ok(oversight.evidence.records.count >= 4 && oversight.evidence.checkpoints.length > 0, 'cites the hold records and the checkpoints sealing them');
  const operation = control(iso42001, 'A.6.2.6');
  t.match(operation.figures, { agents: 3, calls: TRAIL.calls, denials: TRAIL.denials });
  t.equal(control(iso42001, 'A.10.3').figures.quarantines, TRAIL.quarantines);

  const iso27001 = assess(loadFramework('iso27001', undefined, queries), queries, evidence, { period: {} });
  const access = control(iso27001, 'A.5.15');
  t.match(access.figures, { decisions: TRAIL.calls, denials: TRAIL.denials });
  t.equal(access.status, 'met');
  const logging = control(iso27001, 'A.8.15');
  t.equal(logging.status, 'partly', 'fsync is never in this deployment: logging is partly met');
  t.equal(logging.figures.fsync, 'never');
  t.same(control(iso27001, 'A.8.12').figures.blocked, TRAIL.secretsBlocked);
  t.same(control(iso27001, 'A.8.12').figures.redacted_in_results, { 'aws-access-key': TRAIL.secretsMasked, 'pem-private-key': 1 });
  const denials = control(iso27001, 'A.5.15').evidence.records;
  t.equal(denials.count, TRAIL.calls, 'A.5.15 cites every decision record');
  t.same(denials.ranges.length > 0 ? denials.ranges[0]?.[0] : undefined, deployment.decisionSeq[0]);
  t.equal(control(iso27001, 'A.5.17').figures.expired, 0);
  t.equal(iso27001.audit.status, 'verified');
  t.ok(iso27001.audit.checkpoints.length >= 2, 'the report names the checkpoints covering the period');

  const gdpr = assess(loadFramework('gdpr', undefined, queries), queries, evidence, { period: {} });
  t.equal(control(gdpr, 'Art. 15').status, 'not applicable', 'subject access needs --subject');
  const art30 = control(gdpr, 'Art. 30');
  t.equal(art30.status, 'met');
  // carol (every third call) reached personal data in 37 allowed calls: 20 on everything, 17 on fs (3 of hers were denied).
  const carol = 'spiffe://portcullis.test/agent/carol / personal';
  t.same(art30.figures.classifications, { [`${carol} / echo`]: 20, [`${carol} / read_file`]: 9, [`${carol} / write_file`]: 8 });
  t.match(control(gdpr, 'Art. 33').figures, { secret_blocks: 1, quarantines: 1 });
  t.equal(control(gdpr, 'Art. 33').status, 'partly');
  t.same(gdpr.charts.denials_by_reason?.map((g) => [g.key[0], g.value]), Object.entries(TRAIL.denialReasons));
  t.same(gdpr.charts.holds_by_outcome?.map((g) => g.key[0]).sort(), ['approved', 'expired']);
  t.equal(gdpr.charts.access_heat_map?.length, 6, 'three agents on two servers');

  t.test('policy rules annotated with a control are cited by it', async (t) => {
    if (!evidence.policy.available) return t.fail('policy evidence');
    t.equal(evidence.policy.annotations_supported, true);
    const annotated = { ...evidence, policy: { ...evidence.policy, annotations: [{ file: 'decision.rego', rule: 'portcullis.decision', controls: ['iso27001:A.5.15'] }] } };
    const report = assess(loadFramework('iso27001', undefined, queries), queries, annotated, { period: {} });
    t.same(control(report, 'A.5.15').evidence.rules, ['decision.rego: portcullis.decision']);
    t.same(control(report, 'A.8.15').evidence.rules, []);
  });

  t.test('a period narrows every figure', async (t) => {
    const to = new Date(Date.parse(TRAIL.start) + 59 * 30_000).toISOString();
    const first = await collectEvidence({ config: deployment.config }, { to });
    const narrowed = assess(loadFramework('iso42001', undefined, queries), queries, first, { period: { to } });
    // Calls come every 30 s and the approved hold took 40 s: 58 calls (0..57) before the cut.
    t.match(control(narrowed, 'A.6.2.6').figures, { calls: 58, denials: 4 });
  });

  t.test('a subject access request returns exactly the planted records', async (t) => {
    const report = assess(loadFramework('gdpr', undefined, queries), queries, evidence, { period: {}, subject: TRAIL.subject });
    const access = report.subject_access;
    t.ok(access);
    const planted = TRAIL.subjectCalls.map((i) => deployment.decisionSeq[i]);
    t.same(access?.records.map((r) => r.seq), planted, 'the decision records whose arguments mention the subject');
    t.equal(control(report, 'Art. 15').status, 'met');
    t.equal(control(report, 'Art. 15').figures.records, planted.length);
    const text = JSON.stringify(access);
    t.notOk(text.includes(TRAIL.otherSubject), 'nothing of the other subject, even from a record that mentions both');
    t.notOk(text.includes('/work/file-'), 'no other field of the matched records');
    t.same(access?.records[1]?.mentions, [{ path: '$.arguments.customer', value: `notes about ${TRAIL.subject}` }]);
    const none = assess(loadFramework('gdpr', undefined, queries), queries, evidence, { period: {}, subject: 'nobody-at-all' });
    t.same(none.subject_access?.records, []);
  });

  t.test('a tampered trail makes every dependent control insufficient evidence', async (t) => {
    const file = path.join(deployment.auditDir, 'audit-000000000001.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    const index = lines.findIndex((l) => l.includes('"decision":"deny"'));
    lines[index] = (lines[index] as string).replace('"decision":"deny"', '"decision":"allow"');
    writeFileSync(file, lines.join('\n'));
    const tampered: EvidenceBundle = await collectEvidence({ config: deployment.config }, {});
    const report = assess(loadFramework('iso27001', undefined, queries), queries, tampered, { period: {} });
    t.equal(report.audit.status, 'tampered');
    t.match(report.audit.statement, /FAILED verification: edited at audit-000000000001\.jsonl/);
    for (const c of report.controls) {
      const dependsOnAudit = c.evidence.sections.includes('audit');
      t.equal(c.status === 'insufficient evidence', dependsOnAudit, `${c.id}: ${c.status}`);
    }
    t.equal(control(report, 'A.5.17').status, 'met', 'a control on the PKI alone is still assessed');
    t.ok(report.summary['insufficient evidence'] >= 8);
  });
});
