import { Injectable } from '@nestjs/common';
import { invalidField } from 'src/common/errors/orcaops.error';
import { JobAggregateRow, JobAggregates } from 'src/jobs/job-aggregates';
import type { MetricBucket } from 'src/metrics/dto/job-metrics-query.dto';
import { JobMetricHours } from 'src/metrics/job-metric-hours';
import type { JobMetricsResponseDto, JobMetricsRowDto } from 'src/metrics/dto/job-metrics-response.dto';
import { assertPermission } from 'src/tenancy/assert-permission';
import type { TenantContext } from 'src/tenancy/tenant-context';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';

/** What a front end asks for (REST query, MCP input, CLI flags): times as ISO 8601 strings. */
export interface JobMetricsRequest {
  from?: string;
  to?: string;
  bucket?: MetricBucket;
  groupBy?: 'image';
  image?: string;
  tag?: string;
}

export const METRICS_LIMITS = {
  /** The longest range one request aggregates. */
  maxRangeDays: 90,
  /** The most buckets one request returns (per image with group_by=image, before empty ones are dropped). */
  maxBuckets: 1000,
  defaultRangeDays: 7,
  /**
   * Up to this many jobs in a range's whole hours, the aggregate reads the jobs themselves (exact
   * percentiles, a few tens of ms); above it, the hourly roll-up (percentiles within ±2.5 %).
   */
  exactPercentilesUpTo: 10_000,
} as const;

const BUCKET_SECONDS: Record<MetricBucket, number> = { '5m': 300, hour: 3600, day: 86_400, week: 604_800 };
const DAY_MS = 86_400_000;

function parseTime(field: string, value: string | undefined, fallback: Date): Date {
  if (value === undefined) return fallback;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw invalidField(field, 'must be an ISO 8601 time');
  return at;
}

function toRow(r: JobAggregateRow): JobMetricsRowDto {
  const ended = r.succeeded + r.failed + r.timedOut + r.cancelled;
  return {
    bucket_start: r.bucketStart?.toISOString() ?? null,
    image: r.image,
    total: r.total,
    succeeded: r.succeeded,
    failed: r.failed,
    timed_out: r.timedOut,
    cancelled: r.cancelled,
    unfinished: r.unfinished,
    success_rate: ended ? Math.round((r.succeeded / ended) * 10_000) / 10_000 : null,
    duration_ms: r.durationMs,
    queue_wait_ms: r.queueWaitMs,
    cpu_seconds: { total: r.cpuSecondsTotal, avg: r.cpuSecondsAvg },
    memory_peak_bytes: { avg: r.memoryPeakBytesAvg, max: r.memoryPeakBytesMax },
  };
}

/**
 * Run metrics of the caller's workspace (REST /v1/metrics/jobs, `orcaops metrics`, MCP get_metrics):
 * bounded ranges and bucket counts, 400 naming the field otherwise. Another workspace's jobs are never
 * counted: the aggregate reads through the workspace-scoped repository.
 */
@Injectable()
export class MetricsService {
  /** METRICS_LIMITS.exactPercentilesUpTo; a field so a test can send small ranges through the roll-up. */
  exactPercentilesUpTo: number = METRICS_LIMITS.exactPercentilesUpTo;

  constructor(
    private readonly aggregates: JobAggregates,
    private readonly hours: JobMetricHours,
  ) {}

  async jobMetrics(ctx: TenantContext, request: JobMetricsRequest, now = new Date()): Promise<JobMetricsResponseDto> {
    assertPermission(ctx, 'job:read');
    const { workspaceId } = requireWorkspace(ctx);
    const to = parseTime('to', request.to, now);
    const from = parseTime('from', request.from, new Date(to.getTime() - METRICS_LIMITS.defaultRangeDays * DAY_MS));
    if (from.getTime() >= to.getTime()) throw invalidField('from', 'must be before `to`');
    if (to.getTime() - from.getTime() > METRICS_LIMITS.maxRangeDays * DAY_MS) {
      throw invalidField('from', `the range may span at most ${METRICS_LIMITS.maxRangeDays} days`);
    }
    const bucket = request.bucket ?? 'day';
    const bucketSeconds = BUCKET_SECONDS[bucket];
    const buckets = Math.ceil((to.getTime() - from.getTime()) / 1000 / bucketSeconds) + 1;
    if (buckets > METRICS_LIMITS.maxBuckets) {
      throw invalidField('bucket', `${bucket} buckets over this range make ${buckets}; at most ${METRICS_LIMITS.maxBuckets} (use a wider bucket or a shorter range)`);
    }
    const base = { from, to, byImage: request.groupBy === 'image', image: request.image, tag: request.tag };
    // The roll-up is per hour and image: 5-minute buckets and tags (a job has many) read the jobs.
    const rolled = bucket !== '5m' && request.tag === undefined ? await this.hours.aggregate(workspaceId, { ...base, bucketSeconds }, this.exactPercentilesUpTo) : null;
    const [totals, rows] = rolled
      ? [rolled.totals, rolled.buckets]
      : await Promise.all([this.aggregates.aggregate(workspaceId, base), this.aggregates.aggregate(workspaceId, { ...base, bucketSeconds })]);
    return {
      workspace_id: workspaceId,
      from: from.toISOString(),
      to: to.toISOString(),
      bucket,
      group_by: request.groupBy ?? null,
      totals: totals.map(toRow),
      buckets: rows.map(toRow),
    };
  }
}
