import { Inject, Injectable, Logger } from '@nestjs/common';
import { MoreThan } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import type { JobEntity } from 'src/jobs/entities/job.entity';
import { JobSummaryEntity } from 'src/jobs/entities/job-summary.entity';
import { LOG_MASKER, LogMasker } from 'src/jobs/log-masker';
import { analyseLog, MAX_ANALYSED_BYTES } from 'src/log-analysis/analyse-log';
import type { RunFacts } from 'src/log-analysis/log-summary';
import { joinStreamLines, mapRuns, OutputChunk, SourcedOutput } from 'src/log-analysis/stream-lines';

/** Chunks read per query when a job's output is gathered for its summary. */
const READ_BATCH_ROWS = 256;
/** Summaries computed at once, server-wide: each holds up to one job's output (the 10 MiB cap) in memory. */
const MAX_CONCURRENT = 2;

/**
 * A finished job's summary: computed once, off the finish path (the runner schedules it after the job
 * settles), or on the first read when that has not happened yet (older jobs, a restart in between).
 */
@Injectable()
export class JobSummaries {
  private readonly logger = new Logger('JobSummaries');
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    @InjectScopedRepository(JobSummaryEntity) private readonly rows: TenantScopedRepository<JobSummaryEntity>,
    @InjectScopedRepository(JobLogChunkEntity) private readonly chunks: TenantScopedRepository<JobLogChunkEntity>,
    @Inject(LOG_MASKER) private readonly masker: LogMasker,
  ) {}

  /** The stored summary of a finished job, written now if it is not yet. */
  async forJob(job: JobEntity): Promise<JobSummaryEntity> {
    return (await this.rows.findOne(job.workspaceId, { jobId: job.id })) ?? this.write(job);
  }

  /** Schedules the summary after the job settled; never throws into the runner. */
  summariseLater(job: JobEntity): void {
    setImmediate(() => {
      this.forJob(job).catch((error: unknown) => this.logger.warn({ msg: 'summary not written; the first read will', jobId: job.id, err: String(error) }));
    });
  }

  private async write(job: JobEntity): Promise<JobSummaryEntity> {
    await this.slot();
    try {
      const log = job.status === 'succeeded' ? { bytes: Buffer.alloc(0), runs: [] } : await this.readOutput(job);
      // Secrets leave the output here, before anything is derived from it.
      const mask = await this.masker.forJob(job);
      const summary = analyseLog(mapRuns(log, mask), factsOf(job));
      const row = { jobId: job.id, ...summary, analysedBytes: Math.min(log.bytes.length, MAX_ANALYSED_BYTES) };
      try {
        return await this.rows.insert(job.workspaceId, row);
      } catch (error) {
        // Written meanwhile by the other path (the runner's or a reader's): that row stands.
        const existing = await this.rows.findOne(job.workspaceId, { jobId: job.id });
        if (existing) return existing;
        throw error;
      }
    } finally {
      this.release();
    }
  }

  /** The job's stored output as whole lines in arrival order, with their streams; bounded by the job's output cap. */
  private async readOutput(job: JobEntity): Promise<SourcedOutput> {
    const parts: OutputChunk[] = [];
    let after = 0;
    for (;;) {
      const rows = await this.chunks.find(job.workspaceId, { where: { jobId: job.id, seq: MoreThan(after) }, order: { seq: 'ASC' }, take: READ_BATCH_ROWS });
      for (const row of rows) parts.push(row);
      if (rows.length < READ_BATCH_ROWS) return joinStreamLines(parts);
      after = rows[rows.length - 1]!.seq;
    }
  }

  private async slot(): Promise<void> {
    if (this.running < MAX_CONCURRENT) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

export function factsOf(job: JobEntity): RunFacts {
  return {
    status: job.status,
    reason: job.reason,
    exitCode: job.exitCode,
    message: job.message,
    memoryMb: job.spec.resources?.memory_mb,
    timeoutSeconds: job.spec.timeout_seconds,
    network: job.spec.network,
    image: job.spec.image,
  };
}
