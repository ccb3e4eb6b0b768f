import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { PeriodicPass } from 'src/common/periodic-pass';
import { jobsConfig } from 'src/jobs/jobs.config';
import { WorkflowsService } from 'src/workflows/workflows.service';

/** Hourly, like the jobs' retention pass: retention is counted in days. */
const RETENTION_EVERY_MS = 3_600_000;

/**
 * Deletes workflow runs past their workspace's retention (`job_retention_days`, the setting the jobs'
 * retention uses, so a run and its instance jobs go at the same age).
 */
@Injectable()
export class WorkflowRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkflowRetention');
  private readonly pass: PeriodicPass<number>;

  constructor(workflows: WorkflowsService, @Inject(jobsConfig.KEY) config: ConfigType<typeof jobsConfig>) {
    this.pass = new PeriodicPass({
      name: 'workflow run retention',
      intervalMs: RETENTION_EVERY_MS,
      pass: async () => {
        const deleted = await workflows.deleteExpired(config.defaultRetentionDays);
        if (deleted) this.logger.log({ msg: 'retention deleted workflow runs', count: deleted });
        return deleted;
      },
      fallback: 0,
      logger: this.logger,
    });
  }

  onApplicationBootstrap(): void {
    this.pass.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pass.stop();
  }

  /** One pass, never two at once; returns how many runs it deleted. */
  tick(): Promise<number> {
    return this.pass.run();
  }
}
