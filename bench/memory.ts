/**
 * Resident memory of a process (VmRSS, /proc/<pid>/status) and its highest
 * value while something runs: the gateway's footprint idle and under load.
 */
import { procText } from './cpu.js';

/** Megabytes (MiB) resident; undefined where /proc is not available. */
export function processRssMb(pid: number): number | undefined {
  const status = procText(pid, 'status');
  const kb = status === undefined ? undefined : /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

/** The highest RSS of `pid` sampled every `everyMs` while `work` runs. */
export async function peakRssMbDuring(pid: number, work: () => Promise<unknown>, everyMs = 50): Promise<number | undefined> {
  let peak: number | undefined;
  const sample = (): void => {
    const now = processRssMb(pid);
    if (now !== undefined) peak = Math.max(peak ?? 0, now);
  };
  const timer = setInterval(sample, everyMs);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  sample();
  return peak;
}
