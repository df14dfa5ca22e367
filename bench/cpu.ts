/**
 * CPU time a process has used (user + system), from /proc/<pid>/stat: a cost
 * per call that, unlike calls/s, does not depend on what else the machine runs.
 */
import { readFileSync } from 'node:fs';

/** /proc reports clock ticks in USER_HZ, which Linux fixes at 100 for user space. */
const MS_PER_TICK = 10;

/** /proc/<pid>/<name> as text; undefined where /proc (or the process) is not there. */
export function procText(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Milliseconds of CPU used by `pid` so far; undefined where /proc is not available. */
export function processCpuMs(pid: number): number | undefined {
  const stat = procText(pid, 'stat');
  if (stat === undefined) return undefined;
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * MS_PER_TICK : undefined;
}
