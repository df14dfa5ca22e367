/**
 * The gateway's side of hosting the compliance reporters: on the `reports`
 * schedule, each framework's reporter gets a short-lived client certificate
 * (`reporter-<framework>`) from this gateway's CA, reads the evidence through
 * the admin evidence API like any auditor (its reads are audited), and the
 * report is signed with the gateway's key and written to `reports.dir`
 * with an index; reports past `retention_days` are removed.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { buildReport, renderReport } from '../../agents/reporters/index.js';
import { readEvidence, type ClientIdentity } from '../client/index.js';
import { resolveConfigPath } from '../config/load.js';
import type { ReportsConfig } from '../config/reports-schema.js';
import type { PortcullisConfig } from '../config/sections.js';
import { isRunId, readReportIndex, REPORT_EXTENSIONS, writeReportIndex, type IndexEntry } from '../evidence/report-index.js';
import { signReport } from '../evidence/sign.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { LogSink } from '../util/log.js';
import { nextRun, parseCron, type CronSchedule } from './cron.js';

/** Calls `fire` once, `ms` from now; the function returned cancels it. */
export type Timer = (fire: () => void, ms: number) => () => void;

/** The process's timer, which does not keep the process alive. */
const processTimer: Timer = (fire, ms) => {
  const handle = setTimeout(fire, ms);
  handle.unref();
  return () => clearTimeout(handle);
};

export interface ReportHostOptions {
  /** The gateway's listener URL, read when a run starts. */
  url: () => string;
  /** PEM of the CA of the gateway's server certificate. */
  ca: string;
  /** PEM of the gateway's private key: reports are signed with it, as checkpoints are. */
  serverKey: string;
  /** A client certificate for an identity, from this gateway's CA. */
  mint: (name: string) => Promise<ClientIdentity>;
  log: LogSink;
  /** The clock and the timer of the schedule (tests drive both). */
  now?: () => Date;
  timer?: Timer;
}

export class ReportHost {
  readonly #section: ReportsConfig;
  readonly #dir: string;
  readonly #schedule: CronSchedule;
  readonly #key: KeyObject;
  readonly #options: ReportHostOptions;
  #cancelTimer: (() => void) | undefined;
  #running: Promise<IndexEntry[]> | undefined;
  #closed = false;

  constructor(config: PortcullisConfig & { reports: ReportsConfig }, options: ReportHostOptions) {
    this.#section = config.reports;
    this.#dir = resolveConfigPath(config, config.reports.dir);
    this.#schedule = parseCron(config.reports.schedule);
    this.#key = createPrivateKey(options.serverKey);
    this.#options = options;
  }

  get dir(): string {
    return this.#dir;
  }

  /** Runs every configured framework now (a run already going is joined, not doubled). */
  runNow(): Promise<IndexEntry[]> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Arms the schedule. */
  start(): void {
    if (this.#closed) return;
    const now = this.#now();
    const next = nextRun(this.#schedule, now);
    if (next === undefined) {
      this.#options.log('warn', 'reports.schedule matches no time within a year: reports are not scheduled');
      return;
    }
    // Long waits are taken in steps: timers cap at about 24.8 days.
    const wait = Math.min(next.getTime() - now.getTime(), 2 ** 31 - 1);
    this.#cancelTimer = (this.#options.timer ?? processTimer)(() => {
      if (this.#now() >= next) void this.runNow().catch((err: unknown) => this.#options.log('error', 'scheduled reports failed', { error: err instanceof Error ? err.message : 'error' }));
      this.start();
    }, wait);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelTimer?.();
    await this.#running?.catch(() => undefined);
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  async #run(): Promise<IndexEntry[]> {
    const to = this.#now();
    const period = { from: new Date(to.getTime() - this.#section.period_hours * 3_600_000).toISOString(), to: to.toISOString() };
    const id = period.to.replace(/[:.]/g, '-');
    const entries: IndexEntry[] = [];
    for (const framework of this.#section.frameworks) {
      const identity = await this.#options.mint(`reporter-${framework}`);
      const evidence = await readEvidence({ url: this.#options.url(), identity, ca: this.#options.ca, period });
      // Dated by the host's clock, which retention is measured against.
      const signed = await signReport(buildReport(framework, evidence, { period, now: to }), this.#key);
      const files: IndexEntry['files'] = {};
      for (const format of new Set(['json' as const, ...this.#section.formats])) {
        const name = `${framework}.${REPORT_EXTENSIONS[format]}`;
        writeFileAtomic(path.join(this.#dir, id, name), await renderReport(signed, format));
        files[format] = name;
      }
      entries.push({ id, framework, generated_at: signed.report.generated_at, period, audit: signed.audit.status, summary: signed.summary, sha256: signed.signature.sha256, files });
      this.#options.log('info', 'report written', { framework, audit: signed.audit.status, dir: path.join(this.#dir, id) });
    }
    this.#index(entries, to);
    return entries;
  }

  /** Adds this run to the index and removes reports past retention (files and entries). */
  #index(added: IndexEntry[], now: Date): void {
    const current = readReportIndex(this.#dir);
    const cutoff = now.getTime() - this.#section.retention_days * 86_400_000;
    const all = [...added, ...current];
    const kept = all.filter((e) => Date.parse(e.generated_at) >= cutoff);
    for (const id of new Set(all.filter((e) => !kept.includes(e)).map((e) => e.id))) {
      if (isRunId(id)) rmSync(path.join(this.#dir, id), { recursive: true, force: true });
    }
    writeReportIndex(this.#dir, kept);
  }
}

/** The report host of the `reports` section, if there is one. */
export function hostedReports(config: PortcullisConfig, options: ReportHostOptions): ReportHost | undefined {
  return config.reports === undefined ? undefined : new ReportHost(config as PortcullisConfig & { reports: ReportsConfig }, options);
}
