import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Histogram of milliseconds: bin (see job-metric-bins.ts) → number of jobs. */
export type MetricBins = Record<string, number>;

/**
 * One workspace's jobs of one image submitted in one UTC hour, rolled up so a 30-day /v1/metrics
 * aggregate reads ≤ 720 rows per image instead of every job (docs/insights.md#metrics). Written only by
 * the `jobs_metric_hours` trigger (migration JobMetricHours), in the transaction that inserts, updates or
 * deletes the job, so counts stay exact; the application only reads it. Durations and queue waits are
 * kept as log-scale histograms (5 % wide bins) for percentiles over long ranges.
 */
@Entity({ name: 'job_metric_hours' })
export class JobMetricHourEntity {
  @PrimaryColumn({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  /** Start of the UTC hour of the jobs' created_at. */
  @PrimaryColumn({ type: 'timestamptz' })
  hour!: Date;

  @PrimaryColumn({ type: 'varchar', length: 256 })
  image!: string;

  @Column({ type: 'integer', default: 0 })
  total!: number;

  @Column({ type: 'integer', default: 0 })
  succeeded!: number;

  @Column({ type: 'integer', default: 0 })
  failed!: number;

  @Column({ name: 'timed_out', type: 'integer', default: 0 })
  timedOut!: number;

  @Column({ type: 'integer', default: 0 })
  cancelled!: number;

  @Column({ name: 'cpu_sum', type: 'double precision', default: 0 })
  cpuSum!: number;

  /** Jobs that recorded CPU seconds. */
  @Column({ name: 'cpu_n', type: 'integer', default: 0 })
  cpuN!: number;

  @Column({ name: 'memory_sum', type: 'bigint', default: 0 })
  memorySum!: string;

  /** Jobs that recorded a memory peak. */
  @Column({ name: 'memory_n', type: 'integer', default: 0 })
  memoryN!: number;

  @Column({ name: 'memory_max', type: 'bigint', nullable: true })
  memoryMax!: string | null;

  /** Run time of the jobs that started and ended. */
  @Column({ name: 'duration_bins', type: 'jsonb', default: {} })
  durationBins!: MetricBins;

  /** Submission to start of the jobs that started. */
  @Column({ name: 'wait_bins', type: 'jsonb', default: {} })
  waitBins!: MetricBins;
}
