/** Every PromQL query shipped in dashboards/: Grafana panel targets and Prometheus alert rules. */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const DASHBOARDS = fileURLToPath(new URL('../dashboards/', import.meta.url));
export const GRAFANA = path.join(DASHBOARDS, 'grafana');
export const ALERTS = path.join(DASHBOARDS, 'prometheus', 'alerts.yml');

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
}

export interface ShippedQuery {
  where: string;
  expr: string;
}

export function dashboards(): [file: string, dashboard: Dashboard][] {
  return readdirSync(GRAFANA)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(path.join(GRAFANA, f), 'utf8')) as Dashboard]);
}

export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Grafana variables replaced the way Grafana would with "All" selected and a 1m rate window. */
export function concrete(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$server', '.*');
}

export function shippedQueries(): ShippedQuery[] {
  const queries: ShippedQuery[] = [];
  for (const [file, dashboard] of dashboards()) {
    for (const panel of allPanels(dashboard)) {
      for (const target of panel.targets ?? []) queries.push({ where: `${file} "${panel.title}" ${target.refId}`, expr: target.expr });
    }
  }
  const rules = parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  for (const group of rules.groups) for (const rule of group.rules) queries.push({ where: `alert ${rule.alert}`, expr: rule.expr });
  return queries;
}
