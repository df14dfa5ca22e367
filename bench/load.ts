/**
 * Closed-loop load: `concurrency` workers issue calls until `total` are done,
 * or until `maxMs` has passed (a slow peer gets fewer calls, not more time).
 */
export interface LoadResult {
  calls: number;
  errors: number;
  /** The first failure's message, so a run that errors can be diagnosed. */
  first_error?: string;
  p50_ms: number;
  p99_ms: number;
  calls_per_s: number;
  /** CPU the proxy process used per call (milliseconds), when measured. */
  proxy_cpu_ms_per_call?: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export async function runLoad(call: () => Promise<unknown>, total: number, concurrency: number, maxMs = Number.POSITIVE_INFINITY): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = process.hrtime.bigint();
  const deadline = performance.now() + maxMs;
  const worker = async (): Promise<void> => {
    while (issued < total && performance.now() < deadline) {
      issued += 1;
      const t0 = process.hrtime.bigint();
      try {
        await call();
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const result: LoadResult = {
    calls: latencies.length,
    errors,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    calls_per_s: latencies.length / elapsedS,
  };
  if (firstError !== undefined) result.first_error = firstError;
  return result;
}

/** Median of each figure over several runs of the same scenario; errors are summed, never hidden. */
export function medianOf(runs: readonly LoadResult[]): LoadResult {
  const pick = (f: (r: LoadResult) => number): number => median(runs.map(f));
  const result: LoadResult = {
    calls: pick((r) => r.calls),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    p50_ms: pick((r) => r.p50_ms),
    p99_ms: pick((r) => r.p99_ms),
    calls_per_s: pick((r) => r.calls_per_s),
  };
  const firstError = runs.find((r) => r.first_error !== undefined)?.first_error;
  if (firstError !== undefined) result.first_error = firstError;
  const cpu = runs.flatMap((r) => (r.proxy_cpu_ms_per_call === undefined ? [] : [r.proxy_cpu_ms_per_call]));
  if (cpu.length === runs.length && cpu.length > 0) result.proxy_cpu_ms_per_call = median(cpu);
  return result;
}
