export class PercentilesDto {
  p50!: number | null;
  p95!: number | null;
  p99!: number | null;
}

export class CpuFiguresDto {
  /** CPU seconds of the jobs together. */
  total!: number;
  /** Per job that recorded usage; null when none did. */
  avg!: number | null;
}

export class MemoryFiguresDto {
  /** Average peak memory of the jobs that recorded one. */
  avg!: number | null;
  max!: number | null;
}

export class JobMetricsRowDto {
  /** Start of the bucket (ISO 8601, UTC); null in the totals. */
  bucket_start!: string | null;
  /** The image, with group_by=image; else null. */
  image!: string | null;
  total!: number;
  succeeded!: number;
  failed!: number;
  timed_out!: number;
  cancelled!: number;
  /** Awaiting approval, queued or running. */
  unfinished!: number;
  /** succeeded / ended jobs, 0..1; null when none ended. */
  success_rate!: number | null;
  /** Run time (start to end) of the jobs that ran and ended. */
  duration_ms!: PercentilesDto;
  /** Submission to start of the jobs that started. */
  queue_wait_ms!: PercentilesDto;
  cpu_seconds!: CpuFiguresDto;
  memory_peak_bytes!: MemoryFiguresDto;
}

export class JobMetricsResponseDto {
  workspace_id!: string;
  from!: string;
  to!: string;
  /** 5m | hour | day | week */
  bucket!: string;
  /** image, or null */
  group_by!: string | null;
  /** The whole range: one row, or one per image with group_by=image. */
  totals!: JobMetricsRowDto[];
  /** Buckets that have jobs, oldest first (empty buckets are left out). */
  buckets!: JobMetricsRowDto[];
}
