import { crashPoint } from 'src/jobs/crash-point';
import { retryWhileDatabaseDown } from 'src/common/database-connection';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobEvents } from 'src/jobs/job-events';
import { JobSummaries } from 'src/jobs/job-summaries.service';
import { JobMetrics } from 'src/jobs/job-metrics';
import { RunBaselines } from 'src/learning/run-baselines.service';
import type { FinishedRun } from 'src/learning/baseline-stats';
import type { RunState } from 'src/jobs/job-run';
import { classifyOutcome, fromStatesFor, Outcome, shouldRemoveContainer } from 'src/jobs/job-rules';
import { jobsConfig } from 'src/jobs/jobs.config';
import { QuotasService } from 'src/quotas/quotas.service';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';

/** The end of a run: its one terminal state, then its container released. */
@Injectable()
export class JobFinisher {
  private readonly logger = new Logger('JobRunner');

  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly events: JobEvents,
    private readonly quotas: QuotasService,
    @InjectScopedRepository(JobArtifactEntity) private readonly artifactRows: TenantScopedRepository<JobArtifactEntity>,
    private readonly summaries: JobSummaries,
    private readonly jobMetrics: JobMetrics,
    private readonly baselines: RunBaselines,
  ) {}

  /**
   * Ends the run: the one terminal state (compare-and-set), exit codes, usage and artifacts are committed
   * in one write before the container is removed or stopped (hardening.md §4.2.2); the row says
   * `removing` meanwhile. Waiters are woken once the container is released, with the settled job (no
   * re-read), so a caller that sees the end also sees the container gone (or kept, as the policy says).
   */
  async finish(state: RunState): Promise<void> {
    const { job } = state;
    state.facts.steps = state.steps;
    for (const s of state.steps) if (s.status === 'running') s.status = state.facts.cancelled ? 'cancelled' : 'timed_out';
    const outcome: Outcome = state.failure
      ? { status: 'failed', reason: state.failure.reason, exitCode: null, message: state.failure.message }
      : classifyOutcome(state.facts);
    if (state.failure) state.writer.system(`job failed: ${state.failure.message}`);
    await state.writer.end();
    const remove = !state.containerId || shouldRemoveContainer(job.spec.cleanup_policy, outcome.status) || !!state.failure;
    const committedState: JobEntity['containerState'] = !state.containerId ? 'none' : remove ? 'removing' : 'kept';
    const finishedAt = new Date();
    const terminal = {
      status: outcome.status,
      reason: outcome.reason,
      message: outcome.message,
      exitCode: outcome.exitCode,
      finishedAt,
      steps: state.steps,
      cpuSeconds: state.cpuSeconds,
      memoryPeakBytes: state.memoryPeakBytes,
      blockReadBytes: state.blockReadBytes,
      blockWriteBytes: state.blockWriteBytes,
      pidsPeak: state.pidsPeak,
      engineVersion: state.engineVersion,
      runtimeVersion: state.runtimeVersion,
      phases: { ...state.phases, finished_at: finishedAt.toISOString() },
      outputBytes: state.writer.emitted,
      outputTruncated: state.writer.truncated,
      containerState: committedState,
      keepUntil: committedState === 'kept' ? new Date(finishedAt.getTime() + this.config.keptContainerTtlSeconds * 1000) : null,
    };
    const recordsMore = state.artifacts.length > 0 || (state.cpuSeconds ?? 0) > 0;
    // One statement needs no explicit transaction (a trivial job's hot path); artifacts and CPU usage
    // are committed with the terminal state.
    const write = (body: (manager: DataSource['manager']) => Promise<boolean>): Promise<boolean> =>
      recordsMore ? this.dataSource.transaction(body) : body(this.dataSource.manager);
    // The terminal state must land: during a database outage the runner keeps the slot and the
    // container and retries until the database is back (nothing stays `running`, no slot is lost).
    const won = await retryWhileDatabaseDown(
      () =>
        write(async (manager) => {
          const updated = await this.jobs.withManager(manager).update(job.workspaceId, { id: job.id, status: In(fromStatesFor(outcome.status)) }, terminal);
          if (!updated) return false;
          if (state.artifacts.length) await this.artifactRows.withManager(manager).insertMany(job.workspaceId, state.artifacts);
          await this.quotas.recordJobCpu(manager, job.workspaceId, state.cpuSeconds);
          return true;
        }),
      { onRetry: (error, attempt) => attempt === 1 && this.logger.warn({ msg: 'database unreachable; retrying the terminal write', jobId: job.id, err: String(error) }) },
    );
    crashPoint('job_terminal_committed');
    if (won) this.jobMetrics.finished(job, outcome.status, finishedAt);
    const released = await this.releaseContainer(state, remove);
    if (!won) {
      // Another writer ended the job first (e.g. the reconciler): record where the container went, readers re-read.
      if (state.containerId) await this.jobs.update(job.workspaceId, { id: job.id }, { containerState: released }).catch(() => 0);
      this.events.notify(job.id);
      return;
    }
    const settled = Object.assign(new JobEntity(), job, terminal, { containerState: released, containerId: state.containerId ?? job.containerId });
    this.events.settled(settled);
    // Off the finish path: the summary is written after waiters are woken (a reader before then writes it).
    this.summaries.summariseLater(settled);
    const finished = finishedRun(settled);
    if (finished) this.baselines.recordLater(finished);
    if (released !== committedState) {
      await this.jobs
        .update(job.workspaceId, { id: job.id, containerState: committedState }, { containerState: released })
        .catch((error: unknown) => this.logger.warn({ msg: 'could not record the container removal; the reaper will', jobId: job.id, err: String(error) }));
      this.events.notify(job.id);
    }
  }

  /** Removes (or stops and keeps) the container; a failed removal is left to the reaper. */
  private async releaseContainer(state: RunState, remove: boolean): Promise<JobEntity['containerState']> {
    if (!state.containerId) return 'none';
    if (!remove) {
      await this.runtime.kill(state.containerId).catch(() => undefined);
      return 'kept';
    }
    try {
      await this.runtime.remove(state.containerId);
      return 'removed';
    } catch (error) {
      this.logger.warn({ msg: 'container removal failed; the reaper will retry', jobId: state.job.id, err: String(error) });
      return 'pending';
    }
  }
}

/** A settled job as its baseline sees it; undefined when it says nothing about "normal" (no fingerprint, cancelled, interrupted). */
export function finishedRun(job: JobEntity): FinishedRun | undefined {
  if (!job.fingerprint || !job.finishedAt) return undefined;
  const outcome = job.status === 'succeeded' ? 'succeeded' : job.status === 'failed' || job.status === 'timed_out' ? 'failed' : undefined;
  if (!outcome) return undefined;
  const start = job.pullFinishedAt ?? job.startedAt;
  return {
    workspaceId: job.workspaceId,
    jobId: job.id,
    fingerprint: job.fingerprint,
    outcome,
    durationMs: start ? job.finishedAt.getTime() - start.getTime() : null,
    memoryPeakBytes: job.memoryPeakBytes,
    cpuSeconds: job.cpuSeconds,
    finishedAt: job.finishedAt,
  };
}
