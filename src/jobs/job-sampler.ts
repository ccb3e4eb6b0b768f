import { Inject, Injectable } from '@nestjs/common';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { failureFor, RunState } from 'src/jobs/job-run';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { RuntimeError } from 'src/runtime/runtime.errors';

export const SAMPLE_INTERVAL_MS = 1_000;

/** Samples a running job every SAMPLE_INTERVAL_MS (JobRunnerService) and once at its end (JobExecutor). */
@Injectable()
export class JobSampler {
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly engine: EngineHealth,
  ) {}

  /** Resource usage, heartbeat, and cancel requests made through another server. */
  async sample(state: RunState): Promise<void> {
    const { job } = state;
    if (state.containerId) {
      try {
        const stats = await this.runtime.stats(state.containerId);
        state.cpuSeconds = Math.max(state.cpuSeconds ?? 0, stats.cpuSeconds);
        state.memoryPeakBytes = Math.max(state.memoryPeakBytes ?? 0, stats.memoryPeakBytes ?? stats.memoryBytes);
        // Counters since start: the largest sample is the total (a stopped container reports none).
        state.blockReadBytes = Math.max(state.blockReadBytes ?? 0, stats.blockReadBytes);
        state.blockWriteBytes = Math.max(state.blockWriteBytes ?? 0, stats.blockWriteBytes);
        state.pidsPeak = Math.max(state.pidsPeak ?? 0, stats.pids);
        state.engineFailures = 0;
      } catch (error) {
        // Lost the engine: a job that cannot be observed fails now rather than hanging (hardening.md §4.2.7).
        if (error instanceof RuntimeError && error.code === 'engine_unavailable' && ++state.engineFailures >= 2) {
          state.failure ??= failureFor(error, this.engine);
          state.controller.abort();
        }
      }
    }
    if (state.controller.signal.aborted) return;
    const row = await this.jobs.findOne(job.workspaceId, { id: job.id }).catch(() => null);
    if (row?.cancelRequestedAt) {
      state.facts.cancelled = true;
      state.controller.abort();
      return;
    }
    await this.jobs.update(job.workspaceId, { id: job.id, status: 'running' }, { heartbeatAt: new Date() }).catch(() => 0);
  }
}
