import { Injectable } from '@nestjs/common';
import { Brackets } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import type { JobAggregateRow } from 'src/jobs/job-aggregates';
import { JobMetricHourEntity } from 'src/metrics/entities/job-metric-hour.entity';
import { addBinList, addBins, binPercentiles, Bins } from 'src/metrics/metric-bins';

const HOUR_MS = 3_600_000;

export interface HourlyAggregateQuery {
  from: Date;
  to: Date;
  /** A whole number of hours (hour, day, week buckets start at multiples of it since the epoch, UTC). */
  bucketSeconds: number;
  byImage: boolean;
  image?: string;
}

/** One hour × image, from job_metric_hours or from the jobs of a partial hour at either end of the range. */
interface HourRow {
  hour: Date;
  image: string;
  total: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  cpuSum: number;
  cpuN: number;
  memorySum: number;
  memoryN: number;
  memoryMax: number | null;
  addDuration(into: Bins): void;
  addWait(into: Bins): void;
}

type Raw = Record<string, unknown>;
const num = (value: unknown): number => Number(value ?? 0);

class Accumulator {
  total = 0;
  succeeded = 0;
  failed = 0;
  timedOut = 0;
  cancelled = 0;
  cpuSum = 0;
  cpuN = 0;
  memorySum = 0;
  memoryN = 0;
  memoryMax: number | null = null;
  readonly duration: Bins = new Map();
  readonly wait: Bins = new Map();

  constructor(
    readonly bucketStart: Date | null,
    readonly image: string | null,
  ) {}

  add(r: HourRow): void {
    this.total += r.total;
    this.succeeded += r.succeeded;
    this.failed += r.failed;
    this.timedOut += r.timedOut;
    this.cancelled += r.cancelled;
    this.cpuSum += r.cpuSum;
    this.cpuN += r.cpuN;
    this.memorySum += r.memorySum;
    this.memoryN += r.memoryN;
    if (r.memoryMax !== null) this.memoryMax = Math.max(this.memoryMax ?? r.memoryMax, r.memoryMax);
    r.addDuration(this.duration);
    r.addWait(this.wait);
  }

  row(): JobAggregateRow {
    const ended = this.succeeded + this.failed + this.timedOut + this.cancelled;
    return {
      bucketStart: this.bucketStart,
      image: this.image,
      total: this.total,
      succeeded: this.succeeded,
      failed: this.failed,
      timedOut: this.timedOut,
      cancelled: this.cancelled,
      unfinished: this.total - ended,
      durationMs: binPercentiles(this.duration),
      queueWaitMs: binPercentiles(this.wait),
      // Sums of float8 added and taken back by the trigger: rounded so residues like 1e-13 do not show.
      cpuSecondsTotal: Math.round(this.cpuSum * 1e6) / 1e6,
      cpuSecondsAvg: this.cpuN ? Math.round((this.cpuSum / this.cpuN) * 1000) / 1000 : null,
      memoryPeakBytesAvg: this.memoryN ? Math.round(this.memorySum / this.memoryN) : null,
      memoryPeakBytesMax: this.memoryMax,
    };
  }
}

/**
 * /v1/metrics over long ranges from the hourly roll-up (job_metric_hours, kept by a trigger on jobs): the
 * whole hours of the range are read from it (≤ 24 rows per image and day), the partial hours at either
 * end from the jobs themselves, and both are folded into the requested buckets. Counts, success rate,
 * CPU and memory are exact; duration and queue-wait percentiles come from 5 %-wide log bins (±2.5 %).
 * Reads through the workspace-scoped repositories: one workspace's rows only.
 */
@Injectable()
export class JobMetricHours {
  constructor(
    @InjectScopedRepository(JobMetricHourEntity) private readonly hours: TenantScopedRepository<JobMetricHourEntity>,
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
  ) {}

  /**
   * Totals and buckets, or null when the range holds no whole hour or at most `exactUpTo` jobs in its whole
   * hours: the caller then aggregates the jobs themselves, with exact percentiles, at small cost.
   */
  async aggregate(workspaceId: string, q: HourlyAggregateQuery, exactUpTo: number): Promise<{ totals: JobAggregateRow[]; buckets: JobAggregateRow[] } | null> {
    const firstHour = new Date(Math.ceil(q.from.getTime() / HOUR_MS) * HOUR_MS);
    const endHour = new Date(Math.floor(q.to.getTime() / HOUR_MS) * HOUR_MS);
    if (firstHour.getTime() >= endHour.getTime()) return null;
    // Both at once (one round trip of waiting, not two); the partial hours are small and thrown away if unused.
    const [whole, edges] = await Promise.all([this.wholeHours(workspaceId, firstHour, endHour, q.image), this.partialHours(workspaceId, q, firstHour, endHour)]);
    if (whole.reduce((sum, r) => sum + r.total, 0) <= exactUpTo) return null;
    const bucketMs = q.bucketSeconds * 1000;
    const totals = new Map<string, Accumulator>();
    const buckets = new Map<string, Accumulator>();
    const into = (map: Map<string, Accumulator>, bucketStart: Date | null, image: string | null): Accumulator => {
      const key = `${bucketStart?.getTime() ?? ''}\u0000${image ?? ''}`;
      let acc = map.get(key);
      if (!acc) map.set(key, (acc = new Accumulator(bucketStart, image)));
      return acc;
    };
    if (!q.byImage) into(totals, null, null);
    for (const r of [...whole, ...edges]) {
      const image = q.byImage ? r.image : null;
      into(totals, null, image).add(r);
      into(buckets, new Date(Math.floor(r.hour.getTime() / bucketMs) * bucketMs), image).add(r);
    }
    const order = (a: Accumulator, b: Accumulator): number =>
      (a.bucketStart?.getTime() ?? 0) - (b.bucketStart?.getTime() ?? 0) || (a.image ?? '').localeCompare(b.image ?? '', 'en');
    return { totals: [...totals.values()].sort(order).map((a) => a.row()), buckets: [...buckets.values()].sort(order).map((a) => a.row()) };
  }

  private async wholeHours(workspaceId: string, firstHour: Date, endHour: Date, image: string | undefined): Promise<HourRow[]> {
    const qb = this.hours
      .queryBuilder(workspaceId, 'm')
      .andWhere('m.hour >= :firstHour AND m.hour < :endHour', { firstHour, endHour })
      .select(['m.hour AS hour', 'm.image AS image', 'm.total AS total', 'm.succeeded AS succeeded', 'm.failed AS failed', 'm.timed_out AS timed_out'])
      .addSelect(['m.cancelled AS cancelled', 'm.cpu_sum AS cpu_sum', 'm.cpu_n AS cpu_n', 'm.memory_sum AS memory_sum', 'm.memory_n AS memory_n'])
      .addSelect(['m.memory_max AS memory_max', 'm.duration_bins AS duration_bins', 'm.wait_bins AS wait_bins']);
    if (image !== undefined) qb.andWhere('m.image = :image', { image });
    const rows = await qb.getRawMany<Raw>();
    return rows.map((r) => ({
      ...counts(r),
      addDuration: (into: Bins) => addBins(into, r.duration_bins as Record<string, number>),
      addWait: (into: Bins) => addBins(into, r.wait_bins as Record<string, number>),
    }));
  }

  /** The jobs of [from, firstHour) and [endHour, to), grouped by hour and image, bins from the same SQL function as the roll-up. */
  private async partialHours(workspaceId: string, q: HourlyAggregateQuery, firstHour: Date, endHour: Date): Promise<HourRow[]> {
    if (q.from.getTime() === firstHour.getTime() && q.to.getTime() === endHour.getTime()) return [];
    const qb = this.jobs
      .queryBuilder(workspaceId, 'j')
      .andWhere(
        new Brackets((w) =>
          w.where('j.created_at >= :from AND j.created_at < :firstHour', { from: q.from, firstHour }).orWhere('j.created_at >= :endHour AND j.created_at < :to', { endHour, to: q.to }),
        ),
      )
      .select("to_timestamp(floor(date_part('epoch', j.created_at) / 3600) * 3600)", 'hour')
      .addSelect('j.image', 'image')
      .addSelect('COUNT(*)', 'total')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'succeeded')", 'succeeded')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'failed')", 'failed')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'timed_out')", 'timed_out')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'cancelled')", 'cancelled')
      .addSelect('COALESCE(SUM(j.cpu_seconds), 0)', 'cpu_sum')
      .addSelect('COUNT(j.cpu_seconds)', 'cpu_n')
      .addSelect('COALESCE(SUM(j.memory_peak_bytes), 0)', 'memory_sum')
      .addSelect('COUNT(j.memory_peak_bytes)', 'memory_n')
      .addSelect('MAX(j.memory_peak_bytes)', 'memory_max')
      .addSelect("array_agg(job_metric_bin(date_part('epoch', j.finished_at - j.started_at) * 1000)) FILTER (WHERE j.finished_at IS NOT NULL AND j.started_at IS NOT NULL)", 'duration_bins')
      .addSelect("array_agg(job_metric_bin(date_part('epoch', j.started_at - j.created_at) * 1000)) FILTER (WHERE j.started_at IS NOT NULL)", 'wait_bins')
      .groupBy('hour')
      .addGroupBy('j.image');
    if (q.image !== undefined) qb.andWhere('j.image = :image', { image: q.image });
    const rows = await qb.getRawMany<Raw>();
    return rows.map((r) => ({
      ...counts(r),
      addDuration: (into: Bins) => addBinList(into, r.duration_bins as number[] | null),
      addWait: (into: Bins) => addBinList(into, r.wait_bins as number[] | null),
    }));
  }
}

function counts(r: Raw): Omit<HourRow, 'addDuration' | 'addWait'> {
  return {
    hour: new Date(r.hour as string | Date),
    image: String(r.image),
    total: num(r.total),
    succeeded: num(r.succeeded),
    failed: num(r.failed),
    timedOut: num(r.timed_out),
    cancelled: num(r.cancelled),
    cpuSum: num(r.cpu_sum),
    cpuN: num(r.cpu_n),
    memorySum: num(r.memory_sum),
    memoryN: num(r.memory_n),
    memoryMax: r.memory_max === null || r.memory_max === undefined ? null : Number(r.memory_max),
  };
}
