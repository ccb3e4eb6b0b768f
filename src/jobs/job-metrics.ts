import { Injectable } from '@nestjs/common';
import type { JobEntity } from 'src/jobs/entities/job.entity';
import type { JobStatus } from 'src/jobs/job-model';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';

/** This server's job figures for Prometheus: queue wait at start, duration and outcome at the end. */
@Injectable()
export class JobMetrics {
  constructor(private readonly metrics: PlatformMetrics) {}

  /** A claimed job starts here: its wait since submission (0 when admission claimed it at once). */
  started(job: Pick<JobEntity, 'createdAt' | 'startedAt'>): void {
    if (!job.startedAt || !job.createdAt) return;
    this.metrics.jobQueueWait.observe(Math.max(0, job.startedAt.getTime() - job.createdAt.getTime()) / 1000);
  }

  /** A job's terminal state was committed by this server. */
  finished(job: Pick<JobEntity, 'startedAt'>, status: JobStatus, finishedAt: Date): void {
    this.metrics.jobsFinished.inc({ status });
    if (job.startedAt) this.metrics.jobDuration.observe({ status }, Math.max(0, finishedAt.getTime() - job.startedAt.getTime()) / 1000);
  }
}
