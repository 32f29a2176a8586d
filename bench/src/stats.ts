/**
 * Latency statistics for the benchmark and the fault test. Pure: numbers in, numbers out.
 * Percentiles use the nearest-rank method on the full sample (no interpolation, no sketch):
 * p99 of 10 000 samples is the 9 900th smallest, a value that was really observed.
 */

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array; p in (0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) throw new RangeError('cannot summarize an empty sample: nothing was measured');
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  let sum = 0;
  for (const v of values) sum += v;
  return {
    count: values.length,
    min: values[0]!,
    mean: sum / values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values[values.length - 1]!,
  };
}

/** Share of `total` events whose latency is at most `boundMs`; events never observed count as late. */
export function shareWithin(latencies: readonly number[], boundMs: number, total = latencies.length): number {
  if (total === 0) throw new RangeError('share of an empty set of events');
  if (latencies.length > total) throw new RangeError(`${latencies.length} latencies for only ${total} events`);
  let within = 0;
  for (const l of latencies) if (l <= boundMs) within += 1;
  return within / total;
}

/**
 * A share as "nines": 0.99 -> 2, 0.999 -> 3. A share of 1 has as many nines as the sample can show:
 * with n events that is log10(n) (one miss in n would give exactly that), reported as a lower bound.
 */
export function nines(share: number, total: number): { nines: number; lowerBound: boolean } {
  if (!(share >= 0 && share <= 1)) throw new RangeError(`share must be in [0, 1], got ${share}`);
  if (share === 1) return { nines: Math.log10(total), lowerBound: true };
  return { nines: Math.log10(1 / (1 - share)), lowerBound: false };
}

/** Rounds for reports: 3 significant digits below 100, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}
