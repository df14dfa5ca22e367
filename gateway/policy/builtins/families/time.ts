/** time.* built-ins on int64 nanoseconds since the Unix epoch, with IANA time zones. */
import { BuiltinError, arr, int, str, type BuiltinTable } from '../operands.js';
import { normaliseNumber, type Value } from '../value.js';
import { WEEKDAYS, formatLayout, parseLayout, type Civil } from './golayout.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NS_PER_MS = 1_000_000n;

function checkRange(ns: bigint): bigint {
  if (ns < INT64_MIN || ns > INT64_MAX) throw new BuiltinError('time outside of valid range');
  return ns;
}

/** A time operand: ns, or [ns, zone] / [ns, zone, layout]. */
function timeOperand(v: Value | undefined): { ns: bigint; zone: string; layout?: string } {
  if (Array.isArray(v)) {
    const [ns, zone, layout] = arr(v);
    return { ns: checkRange(int(ns)), zone: str(zone), ...(layout !== undefined ? { layout: str(layout) } : {}) };
  }
  return { ns: checkRange(int(v)), zone: 'UTC' };
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** UTC offset in seconds of an IANA zone at an instant ("" and "UTC" are UTC; "Local" is the process zone). */
function zoneOffset(zone: string, ms: number): number {
  if (zone === '' || zone === 'UTC') return 0;
  if (zone === 'Local') return -new Date(ms).getTimezoneOffset() * 60;
  let f = offsetFormatters.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    } catch {
      throw new BuiltinError(`unknown time zone ${zone}`);
    }
    offsetFormatters.set(zone, f);
  }
  const name = f.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  const secs = Number(m[2]) * 3600 + Number(m[3]) * 60;
  return m[1] === '-' ? -secs : secs;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

function civil(ns: bigint, zone: string): Civil {
  const ms = floorDiv(ns, NS_PER_MS);
  const offset = zoneOffset(zone, Number(ms));
  const d = new Date(Number(ms) + offset * 1000);
  const nanos = Number(ns - floorDiv(ns, 1_000_000_000n) * 1_000_000_000n);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), nanos,
    offset, weekday: d.getUTCDay(),
    yearDay: Math.floor((d.getTime() - yearStart) / 86_400_000) + 1,
    zoneName: offset === 0 ? 'UTC' : formatLayout('-0700', { offset } as Civil),
  };
}

/** Nanoseconds of a civil time in a zone (the zone offset taken at that instant). */
function fromCivil(y: number, mo: number, d: number, h: number, mi: number, s: number, nanos: number, zone: string): bigint {
  const date = new Date(Date.UTC(2000, 0, 1, h, mi, s));
  date.setUTCFullYear(y, mo - 1, d);
  const localMs = date.getTime();
  if (Number.isNaN(localMs)) throw new BuiltinError('time outside of valid range');
  const offset = zoneOffset(zone, localMs - zoneOffset(zone, localMs) * 1000);
  return BigInt(localMs - offset * 1000) * NS_PER_MS + BigInt(nanos);
}

function parseNs(layout: string, value: string): bigint {
  const p = parseLayout(layout, value);
  const base = fromCivil(p.year, p.month, p.day, p.hour, p.minute, p.second, 0, 'UTC');
  return checkRange(base - BigInt(p.offset ?? 0) * 1_000_000_000n + BigInt(p.nanos));
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration. */
function parseDuration(s: string): bigint {
  const m = /^([+-]?)((?:\d*\.?\d+(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(s);
  if (!m) throw new BuiltinError(`invalid duration ${JSON.stringify(s)}`);
  let total = 0;
  for (const part of (m[2] as string).matchAll(/(\d*\.?\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (DURATION_UNITS[part[2] as string] as number);
  }
  return checkRange(BigInt(Math.round(m[1] === '-' ? -total : total)));
}

/** Calendar difference between two times, as OPA's time.diff computes it. */
function diff(a: Civil, b: Civil): number[] {
  let [x, y] = [a, b];
  const key = (c: Civil): number[] => [c.year, c.month, c.day, c.hour, c.minute, c.second, c.nanos];
  const cmp = key(x).findIndex((v, i) => v !== key(y)[i]);
  if (cmp >= 0 && (key(x)[cmp] as number) > (key(y)[cmp] as number)) [x, y] = [y, x];
  let years = y.year - x.year;
  let months = y.month - x.month;
  let days = y.day - x.day;
  let hours = y.hour - x.hour;
  let minutes = y.minute - x.minute;
  let seconds = y.second - x.second;
  if (y.nanos < x.nanos) seconds--;
  if (seconds < 0) { seconds += 60; minutes--; }
  if (minutes < 0) { minutes += 60; hours--; }
  if (hours < 0) { hours += 24; days--; }
  if (days < 0) {
    days += new Date(Date.UTC(x.year, x.month, 0)).getUTCDate();
    months--;
  }
  if (months < 0) { months += 12; years--; }
  return [years, months, days, hours, minutes, seconds];
}

let fixedNow: bigint | undefined;

/**
 * OPA fixes time.now_ns for a whole query. An evaluation runs synchronously,
 * so the first reading holds until the current task's microtasks run.
 */
function nowNs(): bigint {
  if (fixedNow === undefined) {
    fixedNow = BigInt(Date.now()) * NS_PER_MS;
    queueMicrotask(() => {
      fixedNow = undefined;
    });
  }
  return fixedNow;
}

export const timeBuiltins: BuiltinTable = {
  'time.now_ns': () => normaliseNumber(nowNs()),
  'time.parse_ns': (l, v) => normaliseNumber(parseNs(str(l), str(v))),
  'time.parse_rfc3339_ns': (v) => normaliseNumber(parseNs('RFC3339', str(v))),
  'time.parse_duration_ns': (v) => normaliseNumber(parseDuration(str(v))),
  'time.date': (v) => {
    const t = timeOperand(v);
    const c = civil(t.ns, t.zone);
    return [c.year, c.month, c.day];
  },
  'time.clock': (v) => {
    const t = timeOperand(v);
    const c = civil(t.ns, t.zone);
    return [c.hour, c.minute, c.second];
  },
  'time.weekday': (v) => {
    const t = timeOperand(v);
    return WEEKDAYS[civil(t.ns, t.zone).weekday] as string;
  },
  'time.add_date': (v, y, m, d) => {
    const c = civil(int(v), 'UTC');
    return normaliseNumber(checkRange(fromCivil(c.year + Number(int(y)), c.month + Number(int(m)), c.day + Number(int(d)),
      c.hour, c.minute, c.second, c.nanos, 'UTC')));
  },
  'time.diff': (a, b) => {
    const ta = timeOperand(a);
    const tb = timeOperand(b);
    // Both times are compared in the first one's zone.
    return diff(civil(ta.ns, ta.zone), civil(tb.ns, ta.zone));
  },
  'time.format': (v) => {
    const t = timeOperand(v);
    return formatLayout(t.layout ?? 'RFC3339Nano', civil(t.ns, t.zone));
  },
};
