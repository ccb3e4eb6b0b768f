import type { RunSummaryDto } from 'src/jobs/dto/search-jobs.dto';
import type { JobEntity } from 'src/jobs/entities/job.entity';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A job as one search/export row: its run record, no spec, env or container ids. */
export function toRunSummary(job: JobEntity): RunSummaryDto {
  return {
    id: job.id,
    status: job.status,
    reason: job.reason,
    exit_code: job.exitCode,
    image: job.image,
    fingerprint: job.fingerprint,
    tags: job.tags,
    triggered_by: job.triggeredBy,
    session_id: job.sessionId,
    metadata: job.metadata,
    created_at: job.createdAt.toISOString(),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    duration_ms: job.startedAt && job.finishedAt ? job.finishedAt.getTime() - job.startedAt.getTime() : null,
    cpu_seconds: job.cpuSeconds,
    memory_peak_bytes: job.memoryPeakBytes,
    block_read_bytes: job.blockReadBytes,
    block_write_bytes: job.blockWriteBytes,
    pids_peak: job.pidsPeak,
    output_bytes: job.outputBytes,
    output_truncated: job.outputTruncated,
  };
}

export const CSV_COLUMNS: Array<keyof RunSummaryDto> = [
  'id', 'status', 'reason', 'exit_code', 'image', 'fingerprint', 'tags', 'triggered_by', 'session_id', 'metadata', 'created_at', 'started_at',
  'finished_at', 'duration_ms', 'cpu_seconds', 'memory_peak_bytes', 'block_read_bytes', 'block_write_bytes', 'pids_peak', 'output_bytes', 'output_truncated',
];

/** One RFC 4180 CSV line; arrays and objects as JSON; a leading =+-@ is quoted with ' (spreadsheet formula injection). */
export function csvLine(values: unknown[]): string {
  return `${values
    .map((v) => {
      if (v === null || v === undefined) return '';
      let s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? `${v}` : JSON.stringify(v);
      if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',')}\r\n`;
}
