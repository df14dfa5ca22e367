/**
 * Policy kept in git: a real gateway runs the policy folder of a branch of a
 * bare repository this test creates (real git), swaps to each new commit
 * whose Rego tests pass (found by polling), never to one whose tests fail,
 * and names the commit in every decision's revision, in the audit trail and
 * in `portcullis policy status`. With signers, only commits signed by a
 * listed SSH key (real ssh-keygen, `git verify-commit`) run.
 */
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import t from 'tap';
import { queryAudit } from '../gateway/audit/query.js';
import type { DecisionRecord } from '../gateway/audit/events.js';
import { configFromObject, resolveConfigPath } from '../gateway/config/load.js';
import { ERRORS } from '../gateway/errors.js';
import { policySource } from '../gateway/policy/config.js';
import { PolicyReloader } from '../gateway/policy/reload.js';
import { withoutCredentials } from '../gateway/policy/source/git.js';
import { connectClient, EVERYTHING, startTestGateway } from './fixtures/gateway-harness.js';
import { dataDenying, defaultPolicyFiles } from './fixtures/policy-candidate.js';
import { missingGitTools, policyRepo } from './fixtures/git-policy-repo.js';
import { policyCli } from './fixtures/policy-cli.js';

const skip = missingGitTools();

/** The default policy's files (Rego, tests, data), under `policy/` in the repository. */
const underPolicy = (files: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(files).map(([file, text]) => [`policy/${file}`, text]));

const errorCode = (err: unknown): number | undefined => (err instanceof McpError ? err.code : undefined);

t.test('the gateway runs a git branch, swaps to new commits that pass their tests, never to one that fails', { skip }, async (t) => {
  const repo = policyRepo(t);
  const first = repo.commit(underPolicy(defaultPolicyFiles()), { message: 'the default policy' });
  const env = await startTestGateway(
    t,
    {
      policy: { git: { url: repo.url, ref: 'main', path: 'policy', poll_s: 1 } },
      upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } },
      audit: { dir: 'audit' },
    },
    'config',
  );
  const reloader = env.gateway.decider as PolicyReloader;
  t.ok(reloader instanceof PolicyReloader, 'the gateway compiled its policy section');
  t.match(reloader.revision, new RegExp(`^sha256:[0-9a-f]{64}\\+git:${first}$`), 'the revision names the content hash and the commit');

  const { cert, key } = env.issue('demo');
  const client = await connectClient(t, `${env.gateway.url}/mcp/everything`, { ca: env.ca, cert, key });
  const tinyImage = () => client.callTool({ name: 'get-tiny-image', arguments: {} }).catch((e: unknown) => e);
  t.match(await tinyImage(), { content: [{ type: 'text' }] }, 'get-tiny-image allowed at the first commit');

  // A reviewed change is pushed: the next poll fetches, tests and swaps it in.
  const second = repo.commit({ 'policy/data.json': dataDenying('get-tiny-image') }, { message: 'retire get-tiny-image' });
  for (let i = 0; i < 300 && !reloader.revision.endsWith(second); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.match(reloader.revision, new RegExp(`\\+git:${second}$`), 'the poll swapped in the pushed commit');
  t.equal(errorCode(await tinyImage()), ERRORS.policyDenied.code, 'get-tiny-image denied at the second commit');

  // A commit whose Rego tests fail never replaces the running one.
  const third = repo.commit({ 'policy/broken_test.rego': 'package portcullis_test\n\nimport rego.v1\n\ntest_never_passes if false\n' }, { message: 'a failing test' });
  for (let i = 0; i < 300 && reloader.state().rejected?.revision?.endsWith(third) !== true; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const refused = reloader.state().rejected;
  t.match(refused?.revision, new RegExp(`\\+git:${third}$`), 'the poll tried the third commit; the refused revision names it');
  t.match(refused?.reason, /^1 Rego test\(s\) failed: data\.portcullis_test\.test_never_passes$/);
  t.match(reloader.revision, new RegExp(`\\+git:${second}$`), 'the second commit keeps running');
  t.equal((await reloader.reload()).result, 'unchanged', 'a refused commit is not tried again');
  t.equal(errorCode(await tinyImage()), ERRORS.policyDenied.code);

  // Every decision on record names the commit that made it.
  await env.gateway.audit?.flush();
  const revisions = new Set<string>();
  for await (const record of queryAudit(path.join(env.dir, 'audit'), { type: 'decision', server: 'everything', tool: 'get-tiny-image' })) revisions.add((record as DecisionRecord).revision);
  t.same([...revisions].map((r) => r.replace(/^sha256:[0-9a-f]{64}\+git:/, '')).sort(), [first, second].sort(), 'get-tiny-image decisions name the first and the second commit');

  // `portcullis policy status` reads what the gateway wrote.
  const statusFile = resolveConfigPath(env.config, env.config.policy.status_file);
  const { code, out: text } = await policyCli(['status', '--file', statusFile]);
  t.equal(code, 0);
  t.match(text, new RegExp(`live policy: revision sha256:[0-9a-f]{64}\\+git:${second}`));
  t.match(text, new RegExp(`from git ${repo.url.replace(/[.]/g, '\\.')} ref main path policy commit ${second}`));
  t.match(text, /since \d{4}-\d\d-\d\dT/);
  t.match(text, new RegExp(`rejected revision sha256:[0-9a-f]{64}\\+git:${third} at .*\\n\\s+because 1 Rego test\\(s\\) failed`));
  const json = await policyCli(['status', '--file', statusFile, '--json']);
  t.equal(json.code, 0);
  t.match(JSON.parse(json.out), { live: { running: { origin: { kind: 'git', url: repo.url, ref: 'main', path: 'policy', commit: second } } }, pid: process.pid });
});

const SMALL_POLICY = {
  'decision.rego': 'package portcullis\n\nimport rego.v1\n\ndecision := {"allow": true, "reasons": []}\n',
  'decision_test.rego': 'package portcullis_test\n\nimport rego.v1\n\ntest_allows if data.portcullis.decision.allow\n',
};

t.test('with signers, only commits signed by a listed SSH key run', { skip }, async (t) => {
  const repo = policyRepo(t);
  const alice = repo.sshKey('alice');
  const mallory = repo.sshKey('mallory');
  const signed = repo.commit(SMALL_POLICY, { signWith: alice.key });
  const config = configFromObject({ policy: { git: { url: 'origin.git', signers: [path.relative(repo.dir, alice.pub)] } } }, repo.dir);
  const { source, options } = policySource(config.policy, (p) => resolveConfigPath(config, p));
  const reloader = new PolicyReloader(source, options);
  t.teardown(() => reloader.close());
  await reloader.start();
  t.match(reloader.revision, new RegExp(`\\+git:${signed}$`), 'a commit signed by alice runs');

  const byMallory = repo.commit({ 'data.json': '{"x": 1}' }, { signWith: mallory.key });
  const wrongKey = await reloader.reload();
  t.equal(wrongKey.result, 'failure');
  t.equal(wrongKey.reason, `commit ${byMallory} is not signed by a listed key`);

  const unsigned = repo.commit({ 'data.json': '{"x": 2}' });
  const notSigned = await reloader.reload();
  t.equal(notSigned.result, 'failure');
  t.equal(notSigned.reason, `commit ${unsigned} is not signed by a listed key`);
  t.match(reloader.revision, new RegExp(`\\+git:${signed}$`), 'the signed commit keeps running');

  const signedAgain = repo.commit({ 'data.json': '{"x": 3}' }, { signWith: alice.key });
  t.equal((await reloader.reload()).result, 'success');
  t.match(reloader.revision, new RegExp(`\\+git:${signedAgain}$`));

  t.throws(
    () => policySource(configFromObject({ policy: { git: { url: 'origin.git', signers: ['work/decision.rego'] } } }, repo.dir).policy, (p) => path.resolve(repo.dir, p)),
    { message: /is not a list of SSH public keys/ },
    'a signers file that is not SSH public keys is refused',
  );
});

t.test('a repository that cannot be fetched is a clear refusal, without credentials in it', { skip }, async (t) => {
  const repo = policyRepo(t);
  const config = configFromObject({ policy: { git: { url: 'https://user:s3cr3t-t0ken@127.0.0.1:1/none.git' } } }, repo.dir);
  const { source, options } = policySource(config.policy, (p) => resolveConfigPath(config, p));
  const reloader = new PolicyReloader(source, options);
  t.teardown(() => reloader.close());
  const error = (await reloader.start().then(() => undefined, (e: unknown) => e)) as Error;
  t.match(error, { name: 'PolicyRejectedError', message: /^git fetch failed: / });
  t.notMatch(error.message, /s3cr3t/, 'the URL credentials are not in the reason');
  t.equal(withoutCredentials("fatal: unable to access 'https://user:s3cr3t@host/p.git/' and ssh://git@host/p"), "fatal: unable to access 'https://host/p.git/' and ssh://host/p");
});
