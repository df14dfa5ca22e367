/**
 * Go time layouts ("2006-01-02T15:04:05Z07:00"): splitting a layout into
 * its elements, formatting civil time with it and parsing text by it.
 */
import { BuiltinError } from '../operands.js';

/** Civil time fields plus the UTC offset in seconds. */
export interface Civil {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
  nanos: number; offset: number; weekday: number; yearDay: number; zoneName: string;
}

type Chunk = { lit: string } | { std: string };

const STD_PREFIXES = [
  'January', 'Jan', 'Monday', 'Mon', 'MST',
  '2006', '002', '01', '02', '03', '04', '05', '06', '15', '__2', '_2', '1', '2', '3', '4', '5',
  'PM', 'pm',
  '-07:00:00', '-070000', '-07:00', '-0700', '-07',
  'Z07:00:00', 'Z070000', 'Z07:00', 'Z0700', 'Z07',
];

export const NAMED_LAYOUTS: Readonly<Record<string, string>> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
  Kitchen: '3:04PM',
  Stamp: 'Jan _2 15:04:05',
  StampMilli: 'Jan _2 15:04:05.000',
  StampMicro: 'Jan _2 15:04:05.000000',
  StampNano: 'Jan _2 15:04:05.000000000',
  DateTime: '2006-01-02 15:04:05',
  DateOnly: '2006-01-02',
  TimeOnly: '15:04:05',
};

function chunks(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  for (let i = 0; i < layout.length;) {
    const rest = layout.slice(i);
    let std = STD_PREFIXES.find((p) => rest.startsWith(p));
    // "_2006" is a literal underscore followed by the year.
    if (std === '_2' && rest.startsWith('_2006')) std = undefined;
    const frac = /^[.,](0+|9+)(?!\d)/.exec(rest);
    if (frac) {
      if (lit) out.push({ lit });
      lit = '';
      out.push({ std: frac[0] });
      i += frac[0].length;
      continue;
    }
    if (std) {
      if (lit) out.push({ lit });
      lit = '';
      out.push({ std });
      i += std.length;
    } else {
      lit += layout[i];
      i++;
    }
  }
  if (lit) out.push({ lit });
  return out;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (n: number, w: number): string => String(Math.abs(n)).padStart(w, '0');

function zone(offset: number, std: string): string {
  if (std.startsWith('Z') && offset === 0) return 'Z';
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const h = pad(Math.floor(a / 3600), 2);
  const m = pad(Math.floor(a / 60) % 60, 2);
  const s = pad(a % 60, 2);
  switch (std.slice(1)) {
    case '07:00:00': return `${sign}${h}:${m}:${s}`;
    case '070000': return `${sign}${h}${m}${s}`;
    case '07:00': return `${sign}${h}:${m}`;
    case '0700': return `${sign}${h}${m}`;
    default: return `${sign}${h}`;
  }
}

export function formatLayout(layout: string, t: Civil): string {
  let out = '';
  for (const c of chunks(NAMED_LAYOUTS[layout] ?? layout)) {
    if ('lit' in c) {
      out += c.lit;
      continue;
    }
    const s = c.std;
    const h12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
    switch (s) {
      case 'January': out += MONTHS[t.month - 1]; break;
      case 'Jan': out += MONTHS[t.month - 1]?.slice(0, 3); break;
      case 'Monday': out += WEEKDAYS[t.weekday]; break;
      case 'Mon': out += WEEKDAYS[t.weekday]?.slice(0, 3); break;
      case 'MST': out += t.zoneName; break;
      case '2006': out += (t.year < 0 ? '-' : '') + pad(t.year, 4); break;
      case '06': out += pad(t.year % 100, 2); break;
      case '01': out += pad(t.month, 2); break;
      case '1': out += t.month; break;
      case '02': out += pad(t.day, 2); break;
      case '2': out += t.day; break;
      case '_2': out += String(t.day).padStart(2, ' '); break;
      case '002': out += pad(t.yearDay, 3); break;
      case '__2': out += String(t.yearDay).padStart(3, ' '); break;
      case '15': out += pad(t.hour, 2); break;
      case '03': out += pad(h12, 2); break;
      case '3': out += h12; break;
      case '04': out += pad(t.minute, 2); break;
      case '4': out += t.minute; break;
      case '05': out += pad(t.second, 2); break;
      case '5': out += t.second; break;
      case 'PM': out += t.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += t.hour >= 12 ? 'pm' : 'am'; break;
      default:
        if (/^[.,]/.test(s)) {
          const digits = pad(t.nanos, 9).slice(0, s.length - 1);
          if (s[1] === '0') out += s[0] + digits;
          else {
            const trimmed = digits.replace(/0+$/, '');
            if (trimmed) out += s[0] + trimmed;
          }
        } else out += zone(t.offset, s);
    }
  }
  return out;
}

/** Parsed fields; the zone offset is undefined when the text names none (UTC then). */
export interface ParsedTime {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
  nanos: number; offset?: number;
}

export function parseLayout(layout: string, value: string): ParsedTime {
  const p: ParsedTime = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, nanos: 0 };
  let pm: boolean | undefined;
  let rest = value;
  const fail = (): never => {
    throw new BuiltinError(`cannot parse ${JSON.stringify(value)} as ${JSON.stringify(layout)}`);
  };
  const take = (re: RegExp): string => {
    const m = re.exec(rest);
    if (!m) return fail();
    rest = rest.slice(m[0].length);
    return m[0];
  };
  const num = (re: RegExp, min: number, max: number): number => {
    const n = Number(take(re));
    if (n < min || n > max) fail();
    return n;
  };
  const list = chunks(NAMED_LAYOUTS[layout] ?? layout);
  for (let idx = 0; idx < list.length; idx++) {
    const c = list[idx] as Chunk;
    if ('lit' in c) {
      if (!rest.startsWith(c.lit)) fail();
      rest = rest.slice(c.lit.length);
      continue;
    }
    const s = c.std;
    switch (s) {
      case 'January': case 'Jan': {
        const i = MONTHS.findIndex((m) => rest.toLowerCase().startsWith((s === 'Jan' ? m.slice(0, 3) : m).toLowerCase()));
        if (i < 0) fail();
        rest = rest.slice(s === 'Jan' ? 3 : (MONTHS[i] as string).length);
        p.month = i + 1;
        break;
      }
      case 'Monday': case 'Mon': {
        const i = WEEKDAYS.findIndex((d) => rest.toLowerCase().startsWith((s === 'Mon' ? d.slice(0, 3) : d).toLowerCase()));
        if (i < 0) fail();
        rest = rest.slice(s === 'Mon' ? 3 : (WEEKDAYS[i] as string).length);
        break;
      }
      case 'MST': {
        const name = take(/^[A-Z]{3,5}|^[+-]\d+/);
        if (name === 'UTC' || name === 'GMT') p.offset = 0;
        break;
      }
      case '2006': p.year = Number(take(/^\d{4}/)); break;
      case '06': {
        const y = Number(take(/^\d{2}/));
        p.year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case '01': p.month = num(/^\d{2}/, 1, 12); break;
      case '1': p.month = num(/^\d{1,2}/, 1, 12); break;
      case '02': p.day = num(/^\d{2}/, 1, 31); break;
      case '2': p.day = num(/^\d{1,2}/, 1, 31); break;
      case '_2': take(/^ ?/); p.day = num(/^\d{1,2}/, 1, 31); break;
      case '002': case '__2': take(/^ */); num(/^\d{1,3}/, 1, 366); break;
      case '15': p.hour = num(/^\d{1,2}/, 0, 23); break;
      case '03': p.hour = num(/^\d{2}/, 1, 12); break;
      case '3': p.hour = num(/^\d{1,2}/, 1, 12); break;
      case '04': p.minute = num(/^\d{2}/, 0, 59); break;
      case '4': p.minute = num(/^\d{1,2}/, 0, 59); break;
      case '05': case '5': {
        p.second = num(s === '05' ? /^\d{2}/ : /^\d{1,2}/, 0, 59);
        // Go accepts a fractional second after the seconds even when the layout has none.
        const next = list[idx + 1];
        if (!(next && 'std' in next && /^[.,]/.test(next.std))) {
          const frac = /^[.,](\d+)/.exec(rest);
          if (frac) {
            p.nanos = Number((frac[1] as string).slice(0, 9).padEnd(9, '0'));
            rest = rest.slice(frac[0].length);
          }
        }
        break;
      }
      case 'PM': case 'pm': pm = take(/^(AM|PM|am|pm)/i).toUpperCase() === 'PM'; break;
      default:
        if (/^[.,]/.test(s)) {
          const frac = take(s[1] === '9' ? /^([.,]\d+)?/ : new RegExp(`^[.,]\\d{${s.length - 1}}`));
          if (frac) p.nanos = Number(frac.slice(1, 10).padEnd(9, '0'));
        } else if (s.startsWith('Z') && rest.startsWith('Z')) {
          rest = rest.slice(1);
          p.offset = 0;
        } else {
          const m = take(/^[+-]\d{2}(:?\d{2}(:?\d{2})?)?/);
          const digits = m.slice(1).replace(/:/g, '');
          const secs = Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || '0') * 60 + Number(digits.slice(4, 6) || '0');
          p.offset = m[0] === '-' ? -secs : secs;
        }
    }
  }
  if (rest !== '') fail();
  if (pm !== undefined) {
    if (p.hour > 12) fail();
    if (pm && p.hour < 12) p.hour += 12;
    if (!pm && p.hour === 12) p.hour = 0;
  }
  const daysIn = new Date(Date.UTC(2000, p.month, 0)).getUTCDate();
  const monthDays = p.month === 2 ? ((p.year % 4 === 0 && p.year % 100 !== 0) || p.year % 400 === 0 ? 29 : 28) : daysIn;
  if (p.day > monthDays) fail();
  return p;
}
