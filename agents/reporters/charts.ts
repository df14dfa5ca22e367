/**
 * The report's charts, rendered on the server to SVG with Vega-Lite (no
 * canvas, no script in the page): decisions over time, denials by reason,
 * holds by outcome and time to decision, the agent × server access heat
 * map, redactions by kind. A chart without data says so in its SVG.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Group } from './query.js';

export interface Chart {
  id: string;
  title: string;
  svg: string;
}

type Row = Record<string, string | number>;

interface ChartDefinition {
  id: string;
  title: string;
  rows: (groups: Group[]) => Row[];
  spec: (values: Row[]) => TopLevelSpec;
}

/** The last path segment of a SPIFFE id: the agent's name. */
function agentName(id: string | undefined): string {
  return (id ?? '').split('/').pop() ?? '';
}

const WIDTH = 420;

const bar = (x: string, y: string, title: string, color?: string): ((values: Row[]) => TopLevelSpec) => (values) => ({
  width: WIDTH,
  data: { values },
  mark: { type: 'bar', tooltip: false },
  encoding: {
    y: { field: y, type: 'nominal', sort: '-x', title: null },
    x: { field: x, type: 'quantitative', title },
    ...(color === undefined ? {} : { color: { field: color, type: 'nominal' } }),
  },
});

const CHARTS: ChartDefinition[] = [
  {
    id: 'decisions_over_time',
    title: 'Decisions over time (per hour)',
    rows: (groups) => groups.map((g) => ({ hour: g.key[0] ?? '', decision: g.key[1] ?? '', count: g.value })),
    spec: (values) => ({
      width: WIDTH,
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'hour', type: 'ordinal', title: 'hour (UTC)', sort: 'ascending' },
        y: { field: 'count', type: 'quantitative', title: 'decisions' },
        color: { field: 'decision', type: 'nominal', scale: { domain: ['allow', 'deny', 'hold'], range: ['#2e7d32', '#c62828', '#ef6c00'] } },
      },
    }),
  },
  { id: 'denials_by_reason', title: 'Denials by reason', rows: (g) => g.map((x) => ({ reason: x.key[0] ?? '', count: x.value })), spec: bar('count', 'reason', 'denials') },
  { id: 'holds_by_outcome', title: 'Holds by outcome', rows: (g) => g.map((x) => ({ outcome: x.key[0] ?? '', count: x.value })), spec: bar('count', 'outcome', 'holds') },
  {
    id: 'hold_decision_seconds',
    title: 'Time to decision per hold (seconds)',
    rows: (g) => g.map((x) => ({ hold: (x.key[0] ?? '').slice(0, 8), outcome: x.key[1] ?? '', seconds: x.value })),
    spec: bar('seconds', 'hold', 'seconds', 'outcome'),
  },
  {
    id: 'access_heat_map',
    title: 'Tool calls by agent and server',
    rows: (g) => g.map((x) => ({ agent: agentName(x.key[0]), server: x.key[1] ?? '', calls: x.value })),
    spec: (values) => ({
      data: { values },
      encoding: { x: { field: 'server', type: 'nominal', title: 'server' }, y: { field: 'agent', type: 'nominal', title: 'agent' } },
      layer: [
        { mark: 'rect', encoding: { color: { field: 'calls', type: 'quantitative', scale: { scheme: 'blues' } } } },
        { mark: { type: 'text', fontSize: 12 }, encoding: { text: { field: 'calls', type: 'quantitative' } } },
      ],
      width: { step: 90 },
      height: { step: 28 },
    }),
  },
  { id: 'redactions_by_kind', title: 'Redactions in results by kind', rows: (g) => g.map((x) => ({ kind: x.key[0] ?? '', count: x.value })), spec: bar('count', 'kind', 'values masked or withheld') },
];

const EMPTY: TopLevelSpec = {
  width: WIDTH,
  height: 40,
  data: { values: [{ text: 'no records in the period' }] },
  mark: { type: 'text', fontSize: 13, color: '#666' },
  encoding: { text: { field: 'text', type: 'nominal' } },
};

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile({ ...spec, config: { font: 'sans-serif', view: { stroke: null } } } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderCharts(data: Record<string, Group[]>): Promise<Chart[]> {
  const charts: Chart[] = [];
  for (const chart of CHARTS) {
    const values = chart.rows(data[chart.id] ?? []);
    charts.push({ id: chart.id, title: chart.title, svg: await toSvg(values.length === 0 ? EMPTY : chart.spec(values)) });
  }
  return charts;
}
