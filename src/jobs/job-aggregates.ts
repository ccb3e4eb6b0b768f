import { Injectable } from '@nestjs/common';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';

/** One workspace's jobs over a bounded time range (the caller bounds it), cut into buckets. */
export interface JobAggregateQuery {
  from: Date;
  to: Date;
  /** Bucket width in seconds; buckets start at multiples of it since the epoch (UTC). Omitted: one bucket, the whole range. */
  bucketSeconds?: number;
  /** Split each bucket by image. */
  byImage: boolean;
  image?: string;
  tag?: string;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface JobAggregateRow {
  /** Null for the whole range. */
  bucketStart: Date | null;
  image: string | null;
  total: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  /** Not ended yet (awaiting approval, queued, running). */
  unfinished: number;
  durationMs: Percentiles;
  queueWaitMs: Percentiles;
  cpuSecondsTotal: number;
  cpuSecondsAvg: number | null;
  memoryPeakBytesAvg: number | null;
  memoryPeakBytesMax: number | null;
}

// date_part (float8), not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, several times slower to compute and sort.
const DURATION_MS = "date_part('epoch', j.finished_at - j.started_at) * 1000";
const WAIT_MS = "date_part('epoch', j.started_at - j.created_at) * 1000";

/** p50, p95 and p99 from one sort (an array of fractions), over the rows where `present` holds. */
function percentiles(expression: string, present: string): string {
  return `percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY ${expression}) FILTER (WHERE ${present})`;
}

type RawRow = Record<string, string | null> & { duration: Array<number | string> | null; wait: Array<number | string> | null };

const num = (value: string | null | undefined): number => Number(value ?? 0);
const maybe = (value: number | string | null | undefined): number | null => (value === null || value === undefined ? null : Math.round(Number(value) * 1000) / 1000);
const spread = (values: Array<number | string> | null): Percentiles => ({ p50: maybe(values?.[0]), p95: maybe(values?.[1]), p99: maybe(values?.[2]) });

/**
 * Run aggregates for /v1/metrics (counts by outcome, percentiles of duration and queue wait, CPU and
 * memory) in one grouped statement through the workspace-scoped repository: rows of one workspace
 * only, over the (workspace_id, created_at) index. Jobs are placed by submission time.
 */
@Injectable()
export class JobAggregates {
  constructor(@InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>) {}

  async aggregate(workspaceId: string, q: JobAggregateQuery): Promise<JobAggregateRow[]> {
    const bucket = "to_timestamp(floor(date_part('epoch', j.created_at) / :bucket::float8) * :bucket::float8)";
    const ran = 'j.finished_at IS NOT NULL AND j.started_at IS NOT NULL';
    const started = 'j.started_at IS NOT NULL';
    const qb = this.jobs
      .queryBuilder(workspaceId, 'j')
      .andWhere('j.created_at >= :from AND j.created_at < :to', { from: q.from, to: q.to })
      .select(q.bucketSeconds === undefined ? 'NULL' : bucket, 'bucket_start')
      .addSelect(q.byImage ? 'j.image' : 'NULL', 'image')
      .addSelect('COUNT(*)', 'total')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'succeeded')", 'succeeded')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'failed')", 'failed')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'timed_out')", 'timed_out')
      .addSelect("COUNT(*) FILTER (WHERE j.status = 'cancelled')", 'cancelled')
      .addSelect(percentiles(DURATION_MS, ran), 'duration')
      .addSelect(percentiles(WAIT_MS, started), 'wait')
      .addSelect('COALESCE(SUM(j.cpu_seconds), 0)', 'cpu_total')
      .addSelect('AVG(j.cpu_seconds)', 'cpu_avg')
      .addSelect('AVG(j.memory_peak_bytes)', 'mem_avg')
      .addSelect('MAX(j.memory_peak_bytes)', 'mem_max')
      .setParameter('bucket', q.bucketSeconds ?? 0);
    if (q.bucketSeconds !== undefined) qb.addGroupBy('bucket_start').addOrderBy('bucket_start', 'ASC');
    if (q.byImage) qb.addGroupBy('j.image').addOrderBy('j.image', 'ASC');
    if (q.image !== undefined) qb.andWhere('j.image = :image', { image: q.image });
    if (q.tag !== undefined) qb.andWhere(':tag = ANY(j.tags)', { tag: q.tag });
    const rows = await qb.getRawMany<RawRow>();
    return rows.map((r) => {
      const total = num(r.total);
      const counts = { succeeded: num(r.succeeded), failed: num(r.failed), timedOut: num(r.timed_out), cancelled: num(r.cancelled) };
      return {
        bucketStart: r.bucket_start ? new Date(r.bucket_start) : null,
        image: r.image ?? null,
        total,
        ...counts,
        unfinished: total - counts.succeeded - counts.failed - counts.timedOut - counts.cancelled,
        durationMs: spread(r.duration),
        queueWaitMs: spread(r.wait),
        cpuSecondsTotal: num(r.cpu_total),
        cpuSecondsAvg: maybe(r.cpu_avg),
        memoryPeakBytesAvg: r.mem_avg === null || r.mem_avg === undefined ? null : Math.round(Number(r.mem_avg)),
        memoryPeakBytesMax: maybe(r.mem_max),
      };
    });
  }
}
