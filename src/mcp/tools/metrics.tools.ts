import { z } from 'zod';
import type { JobMetricsRowDto } from 'src/metrics/dto/job-metrics-response.dto';
import { METRIC_BUCKETS } from 'src/metrics/dto/job-metrics-query.dto';
import type { MetricsService } from 'src/metrics/metrics.service';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool } from 'src/mcp/tool-kit';

const percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() });

/** A compact row for a model: counts, rate, percentiles; CPU total and memory max only. */
const row = z.object({
  bucket_start: z.string().nullable(),
  image: z.string().nullable(),
  total: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  timed_out: z.number(),
  cancelled: z.number(),
  unfinished: z.number(),
  success_rate: z.number().nullable(),
  duration_ms: percentiles,
  queue_wait_ms: percentiles,
  cpu_seconds_total: z.number(),
  memory_peak_bytes_max: z.number().nullable(),
});

function compact(r: JobMetricsRowDto): z.infer<typeof row> {
  const { cpu_seconds, memory_peak_bytes, ...rest } = r;
  return { ...rest, cpu_seconds_total: cpu_seconds.total, memory_peak_bytes_max: memory_peak_bytes.max };
}

const pct = (rate: number | null): string => (rate === null ? 'no finished jobs' : `${(rate * 100).toFixed(1)}% succeeded`);

/** Metrics: how the workspace's runs are doing, for "is this normal?" questions. */
export function metricsTools(metrics: MetricsService): OrcaTool[] {
  return [
    defineTool({
      name: 'get_metrics',
      title: 'Job metrics',
      description:
        'Aggregates of this workspace’s jobs over a time range (default the last 7 days): counts by outcome, success rate, ' +
        'p50/p95/p99 run duration and queue wait (ms), CPU seconds and peak memory, as totals and per time bucket. ' +
        'Filter by image or tag, or split by image with group_by="image". Use it to tell whether a failure or a slow run is ' +
        'unusual; use search_runs to list the runs themselves. Ranges are at most 90 days and 1000 buckets.',
      permission: 'job:read',
      input: {
        from: z.string().max(64).optional().describe('ISO 8601 start (default: 7 days before `to`)'),
        to: z.string().max(64).optional().describe('ISO 8601 end (default: now)'),
        bucket: z.enum(METRIC_BUCKETS).optional().describe('Bucket width, default day'),
        group_by: z.enum(['image']).optional(),
        image: z.string().max(256).optional().describe('Exact image reference, e.g. orcaops/python'),
        tag: z.string().max(64).optional(),
        include_buckets: z.boolean().optional().describe('Default true; false returns the totals only (smallest answer)'),
      },
      output: { from: z.string(), to: z.string(), bucket: z.string(), totals: z.array(row), buckets: z.array(row) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const body = await metrics.jobMetrics(call.ctx, { from: args.from, to: args.to, bucket: args.bucket, groupBy: args.group_by, image: args.image, tag: args.tag });
        const totals = body.totals.map(compact);
        const all = totals.length === 1 ? totals[0] : undefined;
        return {
          result: { from: body.from, to: body.to, bucket: body.bucket, totals, buckets: args.include_buckets === false ? [] : body.buckets.map(compact) },
          summary: all ? `${all.total} job(s), ${pct(all.success_rate)}, p95 duration ${all.duration_ms.p95 ?? '-'} ms` : `${totals.length} image(s)`,
        };
      },
    }),
  ];
}
