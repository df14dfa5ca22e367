/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week,
 * UTC): `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and lists. As
 * in cron, when both day fields are restricted a day matching either runs.
 */

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

export interface CronSchedule {
  fields: Array<Set<number>>;
  /** Whether each day field was restricted (not `*`). */
  domRestricted: boolean;
  dowRestricted: boolean;
}

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

function parseField(text: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (m === null) throw new CronError(`cron ${field.name}: "${part}" is not a number, range, step or *`);
    const from = m[1] === '*' ? field.min : Number(m[2]);
    const to = m[1] === '*' ? field.max : m[3] === undefined ? (m[4] === undefined ? from : field.max) : Number(m[3]);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    if (from < field.min || to > field.max || from > to || step < 1) throw new CronError(`cron ${field.name}: "${part}" is out of ${field.min}-${field.max}`);
    for (let v = from; v <= to; v += step) values.add(field.name === 'day of week' && v === 7 ? 0 : v);
  }
  return values;
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(`cron "${expression}": five fields expected (minute hour day-of-month month day-of-week)`);
  return {
    fields: parts.map((p, i) => parseField(p, FIELDS[i] as (typeof FIELDS)[number])),
    domRestricted: parts[2] !== '*',
    dowRestricted: parts[4] !== '*',
  };
}

const MINUTE = 60_000;
/** A schedule that matches nothing within a leap year's minutes never runs. */
const HORIZON_MINUTES = 366 * 24 * 60;

/** The first minute strictly after `after` that the schedule matches, or undefined within a year. */
export function nextRun(schedule: CronSchedule, after: Date): Date | undefined {
  const [minutes, hours, doms, months, dows] = schedule.fields as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < HORIZON_MINUTES; i++, t += MINUTE) {
    const d = new Date(t);
    if (!minutes.has(d.getUTCMinutes()) || !hours.has(d.getUTCHours()) || !months.has(d.getUTCMonth() + 1)) continue;
    const dom = doms.has(d.getUTCDate());
    const dow = dows.has(d.getUTCDay());
    const day = schedule.domRestricted && schedule.dowRestricted ? dom || dow : dom && dow;
    if (day) return d;
  }
  return undefined;
}
