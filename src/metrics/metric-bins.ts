import type { Percentiles } from 'src/jobs/job-aggregates';

/**
 * The log-scale histogram of job_metric_hours (migration JobMetricHours, SQL function job_metric_bin):
 * bin 0 holds values under 1 ms, bin b ≥ 1 holds [1.05^(b-1), 1.05^b) ms. A percentile read from it is
 * the bin's geometric middle, so within ±2.5 % of the exact value (±0.5 ms under 1 ms). Binning happens
 * only in SQL; this side only reads bins back.
 */
export const BIN_RATIO = 1.05;

/** Bin → number of values (the jsonb of job_metric_hours; keys are bin numbers as text). */
export type Bins = Map<number, number>;

/** The value a bin stands for: its geometric middle (0.5 ms for bin 0). */
export function binValue(bin: number): number {
  return bin <= 0 ? 0.5 : BIN_RATIO ** (bin - 0.5);
}

export function addBins(into: Bins, from: Record<string, number> | null | undefined): void {
  for (const [bin, n] of Object.entries(from ?? {})) into.set(Number(bin), (into.get(Number(bin)) ?? 0) + Number(n));
}

export function addBinList(into: Bins, bins: Array<number | string> | null | undefined): void {
  for (const bin of bins ?? []) into.set(Number(bin), (into.get(Number(bin)) ?? 0) + 1);
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

/**
 * p50, p95 and p99 the way percentile_cont places them (position p·(n−1), interpolated between the two
 * neighbouring values), each value read as its bin's middle. Nulls when the histogram is empty.
 */
export function binPercentiles(bins: Bins): Percentiles {
  const sorted = [...bins].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const count = sorted.reduce((sum, [, n]) => sum + n, 0);
  if (count === 0) return { p50: null, p95: null, p99: null };
  const valueAt = (rank: number): number => {
    let seen = 0;
    for (const [bin, n] of sorted) {
      seen += n;
      if (rank < seen) return binValue(bin);
    }
    return binValue(sorted[sorted.length - 1]![0]);
  };
  const at = (p: number): number => {
    const position = p * (count - 1);
    const lo = Math.floor(position);
    const low = valueAt(lo);
    return round(low + (position - lo) * (valueAt(Math.min(count - 1, lo + 1)) - low));
  };
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
