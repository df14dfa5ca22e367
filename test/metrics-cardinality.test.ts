/**
 * Label cardinality against a real gateway: tool names an agent makes up must
 * not use the `tool` label's budget, so a real tool keeps its own label.
 */
import t from 'tap';
import { GatewayMetrics } from '../gateway/metrics/gateway-metrics.js';
import { connectClient, EVERYTHING, startTestGateway } from './fixtures/gateway-harness.js';

const LABEL_BUDGET = 10;
/** Fifteen times the label budget. */
const MADE_UP_CALLS = 150;

/** The series (sample lines) of one metric in the exposition text. */
function seriesOf(text: string, metric: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${metric}{`));
}

/** Deterministic made-up names: plain, look-alike, hostile and huge. */
function madeUpName(i: number): string {
  const shapes = [`tool-${i}`, `get-env-${i}`, `e\u202Ecto${i}`, `\u0000${i}\u001b[31m`, `${'x'.repeat(300)}${i}`, `echo\u200B${i}`];
  return shapes[i % shapes.length] ?? `tool-${i}`;
}

t.test('made-up tool names count as "unlisted"; a listed tool keeps its own label', async (t) => {
  const g = await startTestGateway(t, {
    metrics: { enabled: true, process_metrics: false, max_label_values: LABEL_BUDGET },
    upstreams: { everything: { stdio: { command: 'node', args: [EVERYTHING, 'stdio'] } } },
  });
  // reporter-* agents are granted three everything tools: every other name is denied.
  const client = await connectClient(t, `${g.gateway.url}/mcp/everything`, { ca: g.ca, ...g.issue('reporter-1') });
  let refused = 0;
  for (let i = 0; i < MADE_UP_CALLS; i++) {
    await client.callTool({ name: madeUpName(i), arguments: {} }).catch(() => refused++);
  }
  t.equal(refused, MADE_UP_CALLS, 'every made-up name is denied');
  // get-env is listed by the upstream, and not granted to reporter-* agents.
  await t.rejects(client.callTool({ name: 'get-env', arguments: {} }));

  const { body } = await g.gateway.metrics.exposition();
  const denials = seriesOf(body, 'portcullis_denials_total');
  t.ok(
    denials.some((line) => line.startsWith('portcullis_denials_total{server="everything",tool="get-env",') && line.endsWith(' 1')),
    `the listed tool carries its own label: ${denials.join(' | ')}`,
  );
  const unlisted = denials.filter((line) => line.includes('tool="unlisted"'));
  t.equal(
    unlisted.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0),
    MADE_UP_CALLS,
    'every made-up name is counted as "unlisted"',
  );
  t.notOk(denials.some((line) => line.includes('tool="other"')), 'no listed tool was pushed out of the budget');
  t.ok(denials.length <= 3, `the series count stays bounded: ${denials.length}`);
  const toolValues = new Set(denials.map((line) => /tool="([^"]*)"/.exec(line)?.[1]));
  t.same([...toolValues].sort(), ['get-env', 'unlisted'], 'no made-up name became a label value');
});

t.test('the facade: a tool label needs a listed name; a message without a tool is "none"', async (t) => {
  const metrics = new GatewayMetrics({ process_metrics: false, max_label_values: 2 });
  for (let i = 0; i < 50; i++) metrics.denial({ server: 'fs', tool: { name: `made-up-${i}`, listed: false }, reasons: ['r'], agent: 'a' });
  metrics.denial({ server: 'fs', reasons: ['r'], agent: 'a' });
  metrics.denial({ server: 'fs', tool: { name: 'read_file', listed: true }, reasons: ['r'], agent: 'a' });
  metrics.denial({ server: 'fs', tool: { name: 'write_file', listed: true }, reasons: ['r'], agent: 'a' });
  const { body } = await metrics.exposition();
  const denials = seriesOf(body, 'portcullis_denials_total');
  t.ok(denials.includes('portcullis_denials_total{server="fs",tool="unlisted",reason="r"} 50'), denials.join(' | '));
  t.ok(denials.includes('portcullis_denials_total{server="fs",tool="none",reason="r"} 1'));
  // "unlisted" and "none" are fixed values: the budget of 2 is the listed tools' own.
  t.ok(denials.includes('portcullis_denials_total{server="fs",tool="read_file",reason="r"} 1'));
  t.ok(denials.includes('portcullis_denials_total{server="fs",tool="write_file",reason="r"} 1'));
});
