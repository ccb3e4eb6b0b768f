import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { action, outputOptions } from 'src/cli/command-context';
import { formatBytes, printJson, printTable } from 'src/cli/output';
import type { JobMetricsResponseDto, JobMetricsRowDto, PercentilesDto } from 'src/metrics/dto/job-metrics-response.dto';

interface MetricsOptions {
  from?: string;
  to?: string;
  bucket?: string;
  byImage?: boolean;
  image?: string;
  tag?: string;
}

const ms = (value: number | null): string => (value === null ? '-' : value >= 10_000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`);
const spread = (p: PercentilesDto): string => `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)}`;

function tableRow(r: JobMetricsRowDto): Record<string, unknown> {
  return {
    bucket: r.bucket_start ?? 'total',
    ...(r.image !== null ? { image: r.image } : {}),
    jobs: r.total,
    ok: r.succeeded,
    failed: r.failed,
    timed_out: r.timed_out,
    cancelled: r.cancelled,
    success: r.success_rate === null ? '-' : `${(r.success_rate * 100).toFixed(1)}%`,
    'duration p50/p95/p99': spread(r.duration_ms),
    'wait p50/p95': `${ms(r.queue_wait_ms.p50)} / ${ms(r.queue_wait_ms.p95)}`,
    cpu_s: r.cpu_seconds.total.toFixed(1),
    mem_max: r.memory_peak_bytes.max === null ? '-' : formatBytes(r.memory_peak_bytes.max),
  };
}

/** `orcaops metrics`: the calling workspace's job metrics (GET /v1/metrics/jobs) as a table or JSON. */
export function metricsCommand(): Command {
  return new Command('metrics')
    .description('Job metrics of your workspace: counts by outcome, success rate, duration and queue-wait percentiles, CPU and memory, per time bucket')
    .option('--from <time>', 'ISO 8601 start (default: 7 days before --to)')
    .option('--to <time>', 'ISO 8601 end (default: now)')
    .option('--bucket <width>', '5m, hour, day or week (default day; at most 1000 buckets, 90 days)')
    .option('--by-image', 'one row per image')
    .option('--image <ref>', 'only jobs of this image')
    .option('--tag <tag>', 'only jobs with this tag')
    .action(action(async (o: MetricsOptions, c: Command) => {
      const query = new URLSearchParams();
      for (const [key, value] of [['from', o.from], ['to', o.to], ['bucket', o.bucket], ['image', o.image], ['tag', o.tag]] as const) {
        if (value !== undefined) query.set(key, value);
      }
      if (o.byImage) query.set('group_by', 'image');
      const body = await new ApiClient().request<JobMetricsResponseDto>('GET', `/v1/metrics/jobs${query.size ? `?${query.toString()}` : ''}`);
      if (outputOptions(c).json) return printJson(body);
      process.stdout.write(`workspace ${body.workspace_id}, ${body.from} to ${body.to}, by ${body.bucket}\n`);
      const rows = [...body.totals, ...body.buckets].map(tableRow);
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      printTable(rows, columns);
    }));
}
