/**
 * No false positives on ordinary text: the project's own documents, policies
 * and test fixtures, and what the demo servers really say (tool and prompt
 * lists, resources, tool results, a base64 image among them) hold no secret
 * the detectors may report.
 */
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { redactSecrets, secretKinds, type Findings } from '../gateway/sanitize/index.js';
import { EVERYTHING, FILESYSTEM, ROOT } from './fixtures/gateway-harness.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

/** Lines of `text` the detectors report, for a readable failure. */
function reportedLines(text: string): string[] {
  return text.split('\n').flatMap((line, i) => {
    const found: Findings = {};
    const out = redactSecrets(line, found);
    return Object.keys(found).length > 0 ? [`${i + 1}: ${out.slice(0, 200)}`] : [];
  });
}

t.test('the project documents, policies and fixtures', async (t) => {
  // Policy tests are left out: they carry secrets on purpose, to prove the policy refuses them. So are
  // recorded audit trails: their checkpoints are compact JWS signatures, which the jwt detector rightly reports.
  const files = [path.join(ROOT, 'README.md'), ...['docs', 'policies', 'test/fixtures'].flatMap((dir) => filesUnder(path.join(ROOT, dir)))].filter(
    (file) => !file.endsWith('_test.rego') && !file.endsWith('.jsonl'),
  );
  t.ok(files.length > 10, 'a real corpus');
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const found: Findings = {};
    redactSecrets(text, found);
    t.same(found, {}, `${path.relative(ROOT, file)}: nothing reported`, { lines: reportedLines(text) });
  }
});

async function connect(t: Test, args: string[]): Promise<Client> {
  const client = new Client({ name: 'false-positive-probe', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args, stderr: 'ignore' }));
  t.teardown(() => client.close());
  return client;
}

t.test('what the demo servers say', async (t) => {
  const sandbox = mkdtempSync(path.join(os.tmpdir(), 'portcullis-fp-'));
  t.teardown(() => rmSync(sandbox, { recursive: true, force: true }));
  mkdirSync(path.join(sandbox, 'notes'));
  writeFileSync(path.join(sandbox, 'notes', 'report.md'), '# Quarterly report\n\nRevenue grew 4% on 2024-03-31.\n');

  const everything = await connect(t, [EVERYTHING, 'stdio']);
  const filesystem = await connect(t, [FILESYSTEM, sandbox]);
  const said: Array<[string, unknown]> = [
    ['everything tools/list', await everything.listTools()],
    ['everything prompts/list', await everything.listPrompts()],
    ['everything resources/list', await everything.listResources()],
    ['everything resources/templates/list', await everything.listResourceTemplates()],
    ['filesystem tools/list', await filesystem.listTools()],
  ];
  const resources = (said[2]?.[1] as { resources: Array<{ uri: string }> }).resources.slice(0, 6);
  for (const { uri } of resources) said.push([`everything read ${uri}`, await everything.readResource({ uri })]);
  const calls: Array<[Client, string, Record<string, unknown>]> = [
    [everything, 'echo', { message: 'hello from the false-positive test' }],
    [everything, 'get-sum', { a: 2, b: 3 }],
    [everything, 'get-tiny-image', {}],
    [everything, 'get-annotated-message', { messageType: 'success', includeImage: true }],
    [everything, 'get-resource-links', { count: 3 }],
    [everything, 'get-resource-reference', { resourceType: 'Text', resourceId: 1 }],
    [everything, 'get-resource-reference', { resourceType: 'Blob', resourceId: 2 }],
    [everything, 'get-structured-content', { location: 'Chicago' }],
    [filesystem, 'list_allowed_directories', {}],
    [filesystem, 'directory_tree', { path: sandbox }],
    [filesystem, 'read_text_file', { path: path.join(sandbox, 'notes', 'report.md') }],
    [filesystem, 'get_file_info', { path: path.join(sandbox, 'notes', 'report.md') }],
    [filesystem, 'search_files', { path: sandbox, pattern: 'report' }],
  ];
  for (const [client, name, args] of calls) said.push([`${name} result`, await client.callTool({ name, arguments: args })]);

  t.ok(JSON.stringify(said).includes('iVBORw0KGgo'), 'a base64 image is among them');
  for (const [what, value] of said) {
    t.same(secretKinds(value), [], `${what}: nothing reported`, { lines: reportedLines(JSON.stringify(value, null, 1)) });
  }
});
