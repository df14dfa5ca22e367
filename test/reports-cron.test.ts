/** The reports schedule: five-field cron in UTC, both day fields as cron reads them, bad fields refused. */
import t from 'tap';
import { nextRun, parseCron } from '../gateway/reports/cron.js';

const after = (expression: string, iso: string): string | undefined => nextRun(parseCron(expression), new Date(iso))?.toISOString();

t.test('next run times', async (t) => {
  t.equal(after('0 3 * * *', '2026-11-02T09:00:00Z'), '2026-11-03T03:00:00.000Z', 'daily at 03:00, the next day');
  t.equal(after('*/15 * * * *', '2026-11-02T09:07:30Z'), '2026-11-02T09:15:00.000Z');
  t.equal(after('30 8 * * 1-5', '2026-11-07T12:00:00Z'), '2026-11-09T08:30:00.000Z', 'Saturday: next on Monday');
  t.equal(after('0 0 1 * 0', '2026-11-02T09:00:00Z'), '2026-11-08T00:00:00.000Z', 'both day fields: the 1st or a Sunday, whichever first');
  t.equal(after('0 0 1 1,7 *', '2026-11-02T09:00:00Z'), '2027-01-01T00:00:00.000Z');
  t.equal(after('0 0 30 2 *', '2026-11-02T09:00:00Z'), undefined, 'never within a year');
});

t.test('bad expressions are refused with the field named', async (t) => {
  t.throws(() => parseCron('0 3 * *'), /five fields/);
  t.throws(() => parseCron('61 * * * *'), /minute: "61" is out of 0-59/);
  t.throws(() => parseCron('* * * * mon'), /day of week: "mon"/);
  t.throws(() => parseCron('*/0 * * * *'), /minute/);
});
