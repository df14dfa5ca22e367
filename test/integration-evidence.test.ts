/**
 * Evidence from a running gateway: real mTLS, real upstreams (server-everything
 * and a raw JSON-RPC server that answers with hostile error messages), a Rego
 * policy compiled by Portcullis, stock SDK clients. After allowed, denied,
 * held and rate-limited calls the audit trail has the records and verifies;
 * hostile strings never appear raw in a log line or an audit record; /metrics
 * counts the traffic; a trail that cannot write refuses calls.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import t, { type Test } from 'tap';
import { verifyAudit } from '../gateway/audit/verify.js';
import { parseVerificationKey } from '../gateway/audit/checkpoint.js';
import { configFromObject } from '../gateway/config/load.js';
import { ERRORS } from '../gateway/errors.js';
import { issueAgent, pkiPaths } from '../gateway/pki/store.js';
import { loadPolicyFolder, startGateway, type RunningGateway } from '../gateway/server.js';
import { connectClient, EVERYTHING, TRUST_DOMAIN } from './fixtures/gateway-harness.js';

const POLICY = `package portcullis

import rego.v1

decision := {"allow": true, "reasons": [], "redact": ["secrets"]} if {
	input.message.direction == "response"
} else := {"allow": false, "reasons": ["printing the environment is not allowed"]} if {
	input.message.tool == "get-env"
} else := {"allow": true, "reasons": ["get-sum needs a person"], "hold": {"approvers": ["approver"], "timeout_s": 60}} if {
	input.message.tool == "get-sum"
	not input.message.listing
} else := {"allow": true, "reasons": [], "rate": {"bucket": "annotated", "capacity": 1, "refill_per_s": 0.001}} if {
	input.message.tool == "get-annotated-message"
} else := {"allow": true, "reasons": []}
`;

/** A raw JSON-RPC MCP server on stdio whose `fail` tool answers with a JSON-RPC error carrying its `text` argument. */
const HOSTILE_SERVER = `
const send = (m) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', ...m }) + '\\n');
let buffered = '';
process.stdin.setEncoding('utf8').on('data', (chunk) => {
  buffered += chunk;
  const lines = buffered.split('\\n');
  buffered = lines.pop();
  for (const line of lines) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line);
    if (m.id === undefined) continue;
    if (m.method === 'initialize') send({ id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'hostile', version: '1.0.0' } } });
    else if (m.method === 'tools/list') send({ id: m.id, result: { tools: [{ name: 'fail', description: 'Fails with the given text', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }] } });
    else if (m.method === 'tools/call') send({ id: m.id, error: { code: -32050, message: String(m.params.arguments.text) } });
    else send({ id: m.id, error: { code: -32601, message: 'Method not found' } });
  }
});
`;

// Built at run time so no secret-looking literal sits in the source.
const alnum = (n: number): string => 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0z'.repeat(4).slice(0, n);
const SECRETS = {
  github: `ghp_${alnum(36)}`,
  aws: `AKIA${'IOSFODNN7EXAMPLE'}`,
  jwt: `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"sub":"someone-secret"}').toString('base64url')}.${alnum(43)}`,
  urlPassword: `https://admin:${'hunter2-' + alnum(8)}@db.example.com/x`,
};
const HOSTILE = [
  '\u001b[31mred\u001b[0m',
  'ok\r\n{"level":30,"msg":"forged line"}',
  'line\u2028separator',
  'bidi\u202egnp.exe',
  ...Object.values(SECRETS),
].join(' | ');
/** Raw fragments that must never appear in any captured log line or audit record. */
const FORBIDDEN = ['\u001b', '\r', '\n{"level"', '\u2028', '\u202e', ...Object.values(SECRETS)];

interface Started {
  gateway: RunningGateway;
  dir: string;
  auditDir: string;
  logLines: string[];
  tls: { ca: string; cert: string; key: string };
}

async function start(t: Test, audit: Record<string, unknown> = {}): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-integration-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policyDir = path.join(dir, 'policy');
  const auditDir = path.join(dir, 'audit');
  writeFileSync(path.join(dir, 'hostile.mjs'), HOSTILE_SERVER);
  mkdirSync(policyDir);
  writeFileSync(path.join(policyDir, 'decision.rego'), POLICY);
  const decider = await loadPolicyFolder(policyDir, () => undefined);
  t.teardown(() => decider.close());
  const config = configFromObject(
    {
      listen: { port: 0 },
      tls: { dir: 'certs', trust_domain: TRUST_DOMAIN },
      policy: { dir: policyDir },
      upstreams: {
        everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } },
        hostile: { stdio: { command: 'node', args: [path.join(dir, 'hostile.mjs')] } },
      },
      audit: { dir: 'audit', checkpoint_every: 5, ...audit },
      metrics: { listen: { host: '127.0.0.1', port: 0 }, process_metrics: false },
      log: { level: 'info' },
    },
    dir,
  );
  const logLines: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const gateway = await startGateway({ config, decider, logDestination });
  t.teardown(() => gateway.close());
  const files = issueAgent(pkiPaths(path.join(dir, 'certs')), TRUST_DOMAIN, 'demo');
  const tls = { ca: readFileSync(pkiPaths(path.join(dir, 'certs')).caCert, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
  return { gateway, dir, auditDir, logLines, tls };
}

function auditRecords(dir: string): Record<string, unknown>[] {
  return readdirSync(dir)
    .sort()
    .flatMap((file) => readFileSync(path.join(dir, file), 'utf8').split('\n'))
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const errorCode = (err: unknown): number | undefined => (err instanceof McpError ? err.code : undefined);

t.test('allowed, denied, held and rate-limited calls are audited, logged clean and counted', async (t) => {
  const s = await start(t);
  const everything = await connectClient(t, `${s.gateway.url}/mcp/everything`, s.tls);
  const hostile = await connectClient(t, `${s.gateway.url}/mcp/hostile`, s.tls);

  // Allowed, with hostile arguments echoed back in the result (masked on the way back).
  const echoed = await everything.callTool({ name: 'echo', arguments: { message: HOSTILE } });
  const echoText = JSON.stringify(echoed);
  t.notOk(echoText.includes(SECRETS.github), 'the secret in the result reached the agent masked');
  // Denied by policy, though the upstream lists it (pinning saw the full list).
  t.equal(errorCode(await everything.callTool({ name: 'get-env', arguments: {} }).catch((e: unknown) => e)), ERRORS.policyDenied.code);
  // Rate limited: capacity 1.
  await everything.callTool({ name: 'get-annotated-message', arguments: { messageType: 'success' } });
  const limited = await everything.callTool({ name: 'get-annotated-message', arguments: { messageType: 'success' } }).catch((e: unknown) => e);
  t.equal(errorCode(limited), ERRORS.rateLimited.code);
  // Held, then approved.
  const { holds } = s.gateway.enforcement;
  const proposed = new Promise<{ id: string; digest: string; revision: string }>((resolve) => {
    const off = holds.onEvent((event) => {
      if (event.type !== 'proposed') return;
      off();
      resolve(event.hold);
    });
  });
  const held = everything.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
  const hold = await proposed;
  holds.approve(hold.id, { kind: 'admin', id: `spiffe://${TRUST_DOMAIN}/admin/alice`, name: 'alice', roles: ['approver'] }, { digest: hold.digest, revision: hold.revision });
  t.match(JSON.stringify(await held), /5/, 'the held call ran after approval');
  // An upstream error message carrying the hostile text.
  const failed = await hostile.callTool({ name: 'fail', arguments: { text: HOSTILE } }).catch((e: unknown) => e);
  t.equal(errorCode(failed), -32050, 'the upstream error passes through');

  await s.gateway.audit?.flush();
  const records = auditRecords(s.auditDir);
  const decisions = records.filter((r) => r.type === 'decision');
  const outcomes = records.filter((r) => r.type === 'outcome');
  const decided = (tool: string): unknown[] => decisions.filter((r) => r.tool === tool).map((r) => r.decision);
  t.same(decided('echo'), ['allow']);
  t.same(decided('get-env'), ['deny']);
  t.same(decided('get-sum'), ['hold']);
  t.same(decided('get-annotated-message'), ['allow', 'allow']);
  const echoDecision = decisions.find((r) => r.tool === 'echo');
  t.match(echoDecision, { agent: { id: `spiffe://${TRUST_DOMAIN}/agent/demo`, auth: 'mtls' }, server: 'everything', method: 'tools/call', args_digest: /^sha256:[0-9a-f]{64}$/ });
  t.ok(typeof (echoDecision?.agent as { cert_serial?: unknown }).cert_serial === 'string', 'certificate serial recorded');
  t.equal(typeof echoDecision?.revision, 'string');
  t.same(decisions.find((r) => r.tool === 'get-env')?.reasons, ['printing the environment is not allowed']);
  t.notOk(outcomes.some((r) => r.tool === 'get-env'), 'a denied call has no outcome: it never left');
  t.same(outcomes.filter((r) => r.tool === 'get-annotated-message').map((r) => r.outcome), ['ok', 'refused']);
  t.match(outcomes.find((r) => r.tool === 'get-sum'), { outcome: 'ok', hold_id: hold.id });
  t.match(outcomes.find((r) => r.tool === 'fail'), { outcome: 'error', error: { code: -32050 } });
  t.ok(records.some((r) => r.type === 'checkpoint'), 'signed checkpoints written');
  const events = records.filter((r) => r.type === 'event');
  const holdEvents = events.filter((r) => r.control === 'hold' && (r.details as { id?: string }).id === hold.id).map((r) => r.event);
  t.same(holdEvents, ['proposed', 'approved', 'forwarded', 'returned'], 'each hold event is a record');
  t.ok(events.some((r) => r.control === 'rate-limit' && r.event === 'refused'), 'the rate refusal is a record');
  t.ok(events.some((r) => r.control === 'redaction' && r.event === 'masked'), 'the masked result is a record');
  t.ok(events.some((r) => r.control === 'pin' && r.event === 'pinned' && (r.details as { tool?: string }).tool === 'echo'), 'pinning is recorded');

  const key = parseVerificationKey(readFileSync(path.join(s.dir, 'certs/server.pem'), 'utf8'));
  const report = await verifyAudit(s.auditDir, { publicKey: key });
  t.equal(report.ok, true, 'the trail verifies with the gateway certificate');

  const decisionLogs = s.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === 'decision');
  t.ok(decisionLogs.some((l) => l.tool === 'get-env' && l.decision === 'deny' && l.agent === `spiffe://${TRUST_DOMAIN}/agent/demo`), 'each decision is logged');
  // Every string field of every log line and audit record, decoded from its JSON.
  const fields: string[] = [];
  for (const line of [...s.logLines, ...records.map((r) => JSON.stringify(r))]) {
    JSON.parse(line, (_key, value: unknown) => {
      if (typeof value === 'string') fields.push(value);
      return value;
    });
  }
  t.ok(fields.some((v) => v.includes('[REDACTED:')), 'secrets were replaced');
  for (const [i, fragment] of FORBIDDEN.entries()) {
    t.notOk(fields.some((v) => v.includes(fragment)), `hostile fragment ${i} never appears raw`);
  }

  const metricsText = await (await fetch(s.gateway.metricsUrl as string)).text();
  for (const pattern of [
    /portcullis_requests_total\{server="everything",method="tools\/call",decision="allow"\} [1-9]/,
    /portcullis_requests_total\{server="everything",method="tools\/call",decision="deny"\} 1/,
    /portcullis_requests_total\{server="everything",method="tools\/call",decision="hold"\} 1/,
    /portcullis_decision_duration_seconds_count [1-9]/,
    /portcullis_upstream_duration_seconds_count\{server="everything"\} [1-9]/,
    /portcullis_denials_total\{server="everything",tool="get-env",reason="printing_the_environment_is_not_allowed"\} 1/,
    /portcullis_redactions_total\{detector="[a-z-]+"\} [1-9]/,
    /portcullis_upstream_up\{server="everything"\} 1/,
    /portcullis_policy_revision_info\{revision="[^"]+"\} 1/,
    /portcullis_audit_records_total [1-9]/,
    /portcullis_audit_write_errors_total 0/,
    /portcullis_rate_limited_total\{scope="[a-z_]+"\} 1/,
  ]) {
    t.match(metricsText, pattern);
  }
});

t.test('an audit trail that cannot write refuses calls with a clear error; the gateway stays up', async (t) => {
  // Every batch rotates to a new file, so the next write needs the directory.
  const s = await start(t, { rotate_seconds: 0.001, retry_seconds: 3600 });
  const everything = await connectClient(t, `${s.gateway.url}/mcp/everything`, s.tls);
  t.match(JSON.stringify(await everything.callTool({ name: 'echo', arguments: { message: 'before' } })), /before/);
  // The audit folder becomes unusable (a plain file where it was): new files cannot be created.
  renameSync(s.auditDir, `${s.auditDir}.moved`);
  writeFileSync(s.auditDir, 'not a folder');
  for (let i = 0; i < 2; i++) {
    const refused = await everything.callTool({ name: 'echo', arguments: { message: 'during' } }).catch((e: unknown) => e);
    t.equal(errorCode(refused), ERRORS.auditUnavailable.code, `call ${i + 1} refused`);
    t.match((refused as Error).message, /Audit trail unavailable/);
  }
  t.equal(s.gateway.audit?.available, false);
  t.equal((await everything.ping()).constructor, Object, 'the gateway still answers');
  const metricsText = await (await fetch(s.gateway.metricsUrl as string)).text();
  t.match(metricsText, /portcullis_audit_write_errors_total [1-9]/);
  t.ok(s.logLines.some((line) => line.includes('audit trail unavailable')), 'the refusal is logged');
  const moved = auditRecords(`${s.auditDir}.moved`);
  t.notOk(moved.some((r) => JSON.stringify(r).includes('during') && r.type === 'outcome'), 'no refused call recorded as forwarded');
});
