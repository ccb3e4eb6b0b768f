import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
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
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly workflows: WorkflowsService,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), RETENTION_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass, never two at once; returns how many runs it deleted. */
  tick(): Promise<number> {
    this.running ??= this.workflows
      .deleteExpired(this.config.defaultRetentionDays)
      .then((deleted) => {
        if (deleted) this.logger.log({ msg: 'retention deleted workflow runs', count: deleted });
        return deleted;
      })
      .catch((error: unknown) => {
        this.logger.warn({ msg: 'workflow run retention failed', err: String(error) });
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
