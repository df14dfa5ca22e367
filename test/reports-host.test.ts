/**
 * The hosted reporter's schedule and retention, on a clock and a timer the
 * test drives (no waiting for 03:00): the schedule arms a timer for the next
 * cron time, a timer that fires early runs nothing, one that fires on time
 * runs every framework over the period ending then and arms the next; runs
 * past `retention_days` leave the folder and the index. The reporter reads
 * the evidence from a real gateway, as it does when hosted.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { PortcullisConfig } from '../gateway/config/sections.js';
import type { ReportsConfig } from '../gateway/config/reports-schema.js';
import { readReportIndex } from '../gateway/evidence/report-index.js';
import { workerIdentities } from '../gateway/orchestrator/host.js';
import { ReportHost, type Timer } from '../gateway/reports/host.js';
import { startTestGateway } from './fixtures/gateway-harness.js';

const HOUR = 3_600_000;

interface Armed {
  fire: () => void;
  ms: number;
  cancelled: boolean;
}

/** A report host over a real gateway, on the test's clock and timer; `mints` counts reporter identities asked for (one per framework run). */
async function hostOnTestClock(t: Test, reports: Partial<ReportsConfig>, start: string) {
  // The gateway's own host never fires (30 February): only the test's host writes reports.
  const g = await startTestGateway(t, {
    audit: { dir: 'var/audit', fsync: 'always' },
    reports: { frameworks: ['iso42001'], schedule: '0 0 30 2 *', formats: ['json'], dir: 'var/reports' },
  });
  const config = g.config as PortcullisConfig & { reports: ReportsConfig };
  const clock = { now: new Date(start) };
  const armed: Armed[] = [];
  const timer: Timer = (fire, ms) => {
    const slot: Armed = { fire, ms, cancelled: false };
    armed.push(slot);
    return () => {
      slot.cancelled = true;
    };
  };
  const mint = workerIdentities(config);
  const counter = { mints: 0 };
  const host = new ReportHost(
    { ...config, reports: { ...config.reports, ...reports } },
    {
      url: () => g.gateway.url,
      ca: g.ca,
      serverKey: readFileSync(g.pki.serverKey, 'utf8'),
      mint: (name) => {
        counter.mints += 1;
        return mint(name);
      },
      log: () => undefined,
      now: () => clock.now,
      timer,
    },
  );
  t.teardown(() => host.close());
  return { host, clock, armed, counter };
}

t.test('the schedule fires at the next cron time and runs the reports', async (t) => {
  const { host, clock, armed, counter } = await hostOnTestClock(t, { schedule: '0 3 * * *', period_hours: 24 }, '2026-11-02T09:00:00Z');
  host.start();
  t.same(
    armed.map((a) => a.ms),
    [18 * HOUR],
    'armed for 03:00 the next day',
  );

  // A timer that fires before its time (the clock was set back) runs nothing and waits again.
  armed[0]?.fire();
  t.equal(counter.mints, 0, 'no run');
  t.same(
    armed.map((a) => a.ms),
    [18 * HOUR, 18 * HOUR],
    'armed again for the same time',
  );

  clock.now = new Date('2026-11-03T03:00:00Z');
  armed[1]?.fire();
  t.equal(counter.mints, 1, 'the scheduled run started');
  t.equal(armed[2]?.ms, 24 * HOUR, 'and the next one is armed, a day later');
  // runNow joins the run going on rather than starting another.
  const [entry] = await host.runNow();
  t.equal(counter.mints, 1, 'one run, the scheduled one');
  t.match(entry, {
    framework: 'iso42001',
    generated_at: '2026-11-03T03:00:00.000Z',
    period: { from: '2026-11-02T03:00:00.000Z', to: '2026-11-03T03:00:00.000Z' },
    files: { json: 'iso42001.json' },
  });
  t.same(readReportIndex(host.dir), [entry], 'indexed');
  t.ok(existsSync(path.join(host.dir, entry?.id ?? '', 'iso42001.json')), 'written');

  await host.close();
  t.ok(armed.at(-1)?.cancelled, 'closing cancels the armed timer');
  host.start();
  t.equal(armed.length, 3, 'a closed host arms nothing');
});

t.test('runs past retention_days leave the folder and the index', async (t) => {
  const { host, clock } = await hostOnTestClock(t, { retention_days: 1 }, '2026-11-01T03:00:00Z');
  const run = async (at: string): Promise<string> => {
    clock.now = new Date(at);
    const [entry] = await host.runNow();
    return entry?.id ?? '';
  };
  const ids = (): string[] => readReportIndex(host.dir).map((e) => e.id);
  const kept = (id: string): boolean => existsSync(path.join(host.dir, id));

  const first = await run('2026-11-01T03:00:00Z');
  const second = await run('2026-11-01T15:00:00Z');
  t.same(ids(), [second, first], 'newest first; both within a day');
  t.ok(kept(first) && kept(second));

  // 36 h after the first run: the first is past the day kept, the second (24 h old) is not.
  const third = await run('2026-11-02T15:00:00Z');
  t.same(ids(), [third, second], 'the run past retention left the index');
  t.notOk(kept(first), 'and its folder is gone');
  t.ok(kept(second) && kept(third), 'the others stay');
});
