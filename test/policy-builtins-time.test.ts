import t from 'tap';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);

// 2024-02-29T13:45:30.123456789Z, a Thursday.
const LEAP = '1709214330123456789';

t.test('parsing', async (t) => {
  t.equal(call('time.parse_rfc3339_ns', '["2024-02-29T13:45:30.123456789Z"]'), LEAP);
  t.equal(call('time.parse_rfc3339_ns', '["2024-02-29T14:45:30.123456789+01:00"]'), LEAP);
  t.equal(call('time.parse_ns', '["2006-01-02", "2024-02-29"]'), '1709164800000000000');
  t.equal(call('time.parse_ns', '["02 Jan 06 15:04 MST", "29 Feb 24 13:45 UTC"]'), '1709214300000000000');
  t.equal(call('time.parse_ns', '["RFC1123Z", "Thu, 29 Feb 2024 14:45:30 +0100"]'), '1709214330000000000', 'named layouts');
  t.equal(call('time.parse_ns', '["2006-01-02 3:04PM", "2024-02-29 1:45PM"]'), '1709214300000000000', '12-hour clock');
  t.equal(call('time.parse_ns', '["2006-01-02", "2023-02-29"]'), '', 'no 29 February in 2023');
  t.equal(call('time.parse_ns', '["2006-01-02", "2024-02-29x"]'), '', 'trailing text');
  t.equal(call('time.parse_rfc3339_ns', '["2262-04-11T23:47:16.854775807Z"]'), '9223372036854775807', 'the int64 limit');
  t.equal(call('time.parse_rfc3339_ns', '["2262-04-11T23:47:16.854775808Z"]'), '', 'beyond int64');
  t.equal(call('time.parse_duration_ns', '["1h2m3.5s"]'), '3723500000000');
  t.equal(call('time.parse_duration_ns', '["-150ms"]'), '-150000000');
  t.equal(call('time.parse_duration_ns', '["5 minutes"]'), '');
});

t.test('calendar views, in UTC and in named zones', async (t) => {
  t.equal(call('time.date', `[${LEAP}]`), '[2024,2,29]');
  t.equal(call('time.clock', `[${LEAP}]`), '[13,45,30]');
  t.equal(call('time.weekday', `[${LEAP}]`), '"Thursday"');
  t.equal(call('time.date', `[[${LEAP}, "Pacific/Kiritimati"]]`), '[2024,3,1]', 'UTC+14');
  t.equal(call('time.clock', `[[${LEAP}, "America/New_York"]]`), '[8,45,30]', 'EST in February');
  t.equal(call('time.clock', `[[${LEAP}, "Not/AZone"]]`), '');
  t.equal(call('time.date', '[-1]'), '[1969,12,31]', 'before the epoch');
});

t.test('formatting', async (t) => {
  t.equal(call('time.format', `[${LEAP}]`), '"2024-02-29T13:45:30.123456789Z"');
  t.equal(call('time.format', `[[${LEAP}, "Asia/Kolkata"]]`), '"2024-02-29T19:15:30.123456789+05:30"');
  t.equal(call('time.format', `[[${LEAP}, "UTC", "Monday, 02-Jan-06 3:04:05.000 PM"]]`), '"Thursday, 29-Feb-24 1:45:30.123 PM"');
  t.equal(call('time.format', `[[${LEAP}, "UTC", "RFC822Z"]]`), '"29 Feb 24 13:45 +0000"');
  t.equal(call('time.format', '[100000000000000000000]'), '', 'beyond int64');
});

t.test('arithmetic', async (t) => {
  t.equal(call('time.add_date', `[${LEAP}, 1, 0, 0]`), call('time.parse_rfc3339_ns', '["2025-03-01T13:45:30.123456789Z"]'), 'normalised like Go');
  t.equal(call('time.add_date', `[${LEAP}, 0, -1, 1]`), call('time.parse_rfc3339_ns', '["2024-01-30T13:45:30.123456789Z"]'));
  t.equal(call('time.add_date', '[0, 300, 0, 0]'), '', 'beyond int64');
  const a = call('time.parse_rfc3339_ns', '["2023-01-31T10:00:00Z"]');
  const b = call('time.parse_rfc3339_ns', '["2024-03-01T09:30:15Z"]');
  t.equal(call('time.diff', `[${a}, ${b}]`), '[1,1,0,23,30,15]');
  t.equal(call('time.diff', `[${b}, ${a}]`), '[1,1,0,23,30,15]', 'order does not matter');
  const now = Number(call('time.now_ns', '[]'));
  t.ok(Math.abs(now / 1e6 - Date.now()) < 60_000, 'now_ns is the wall clock');
});

t.test('time.now_ns is fixed for one (synchronous) evaluation', async (t) => {
  const first = call('time.now_ns', '[]');
  const start = Date.now();
  while (Date.now() === start) { /* at most a millisecond: let the clock move */ }
  t.equal(call('time.now_ns', '[]'), first, 'same reading within the evaluation');
  await Promise.resolve();
  t.not(call('time.now_ns', '[]'), first, 'a later evaluation reads the clock again');
});
