import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, LessThanOrEqual } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { InstallationService } from 'src/database/installation.service';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { runsAsMainProcess } from 'src/jobs/job-container';
import { JobEvents } from 'src/jobs/job-events';
import { JobRunnerService } from 'src/jobs/job-runner.service';
import { jobsConfig } from 'src/jobs/jobs.config';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { ARTIFACT_STORAGE, ArtifactStorage } from 'src/storage/artifact-storage.port';

const RETENTION_EVERY_MS = 3_600_000;

/**
 * Crash safety and housekeeping across every workspace (a system task: it reads all tenants' jobs,
 * the documented exemption from scoped repositories, and acts on each row within its own workspace):
 * - on start and periodically: jobs left running by a dead server (its liveness lock is free) are
 *   re-attached when their container still runs the one step as its main process (long jobs survive a
 *   restart), else become failed/interrupted (never re-run: at most once) and their containers are
 *   removed; queued jobs are dispatched again;
 * - periodically: stale heartbeats, orphan containers, kept containers past their TTL, retention.
 */
@Injectable()
export class JobReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('JobReconciler');
  private timer?: NodeJS.Timeout;
  private lastRetention = 0;
  private running?: Promise<void>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @Inject(ARTIFACT_STORAGE) private readonly storage: ArtifactStorage,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly runner: JobRunnerService,
    private readonly events: JobEvents,
    private readonly installation: InstallationService,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runner.liveness.hold(this.runner.runnerId);
    await this.reconcile(true);
    await this.runner.startWorkers();
    this.timer = setInterval(() => void this.tick(), this.config.reaperIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.runner.liveness.release();
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.reconcile(false).finally(() => (this.running = undefined));
    await this.running;
  }

  /** One pass; each part survives the others failing (e.g. the engine being down). */
  async reconcile(atStart: boolean, options: { retention?: boolean } = {}): Promise<void> {
    await this.step('interrupt', () => this.interruptOrphanedJobs());
    await this.step('removals', () => this.releaseOrphanedRemovals());
    await this.step('requeue', () => this.requeueQueuedJobs(atStart));
    await this.step('containers', () => this.removeStrayContainers());
    if (options.retention || Date.now() - this.lastRetention > RETENTION_EVERY_MS) {
      this.lastRetention = Date.now();
      await this.step('retention', () => this.applyRetention());
    }
  }

  private async step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.logger.warn({ msg: `reconcile ${name} failed`, err: String(error) });
    }
  }

  /** Running jobs whose runner is gone (its liveness lock is free): crashed, killed or lost. */
  private async interruptOrphanedJobs(): Promise<void> {
    const running = await this.dataSource
      .getRepository(JobEntity)
      .createQueryBuilder('j')
      .where("j.status = 'running'")
      .andWhere('j.runner_id IS DISTINCT FROM :me', { me: this.runner.runnerId })
      .getMany();
    const gone = new Map<string, boolean>();
    for (const job of running) {
      const runnerId = job.runnerId ?? '';
      if (!gone.has(runnerId)) gone.set(runnerId, await this.runner.liveness.isGone(runnerId));
      if (!gone.get(runnerId)) continue;
      if (await this.reattach(job)) continue;
      const result = await this.dataSource
        .createQueryBuilder()
        .update(JobEntity)
        .set({
          status: 'failed',
          reason: 'interrupted',
          message: 'the server running this job stopped before it finished; it was not re-run',
          finishedAt: new Date(),
          containerState: 'pending',
        })
        .where("id = :id AND workspace_id = :ws AND status = 'running'", { id: job.id, ws: job.workspaceId })
        .execute();
      if (!result.affected) continue;
      await this.audit.recordSystem(job.workspaceId, { action: 'job.interrupt', resourceType: 'job', resourceId: job.id, sessionId: job.sessionId, outcome: 'failure', details: { runner_id: job.runnerId } });
      this.logger.warn({ msg: 'job interrupted', jobId: job.id });
      this.events.notify(job.id);
      await this.removeJobContainers(job.id);
    }
  }

  /**
   * A job of a gone runner whose container ran its one step as the main process and still exists
   * (running, or ended while no server watched): this runner claims the row (compare-and-set on the
   * old runner id) and watches the container to its end, so its output and exit code are kept. True
   * when the job is not to be interrupted. A container never started, or an exec-driven job (its
   * steps' processes cannot be re-attached), is interrupted as before.
   */
  private async reattach(job: JobEntity): Promise<boolean> {
    if (!runsAsMainProcess(job.spec) || this.runner.stopping) return false;
    const install = await this.installation.installationId();
    const [container] = await this.runtime.listContainers({ 'orcaops.kind': 'job', 'orcaops.job_id': job.id, 'orcaops.install': install });
    const state = container && (await this.runtime.inspect(container.id));
    if (!container || !state?.startedAt || !['running', 'exited'].includes(state.status)) return false;
    const previous = job.runnerId;
    const claimed = await this.dataSource
      .createQueryBuilder()
      .update(JobEntity)
      .set({ runnerId: this.runner.runnerId, heartbeatAt: new Date(), containerId: container.id })
      .where("id = :id AND workspace_id = :ws AND status = 'running' AND runner_id IS NOT DISTINCT FROM :was", { id: job.id, ws: job.workspaceId, was: previous })
      .execute();
    // Not claimed: another server took it over or it ended meanwhile; either way not to be interrupted here.
    if (!claimed.affected) return true;
    await this.audit.recordSystem(job.workspaceId, { action: 'job.reattach', resourceType: 'job', resourceId: job.id, sessionId: job.sessionId, outcome: 'success', details: { runner_id: previous } });
    this.logger.log({ msg: 'job re-attached after its server went away', jobId: job.id });
    await this.runner.adopt(Object.assign(job, { runnerId: this.runner.runnerId, containerId: container.id }), container.id);
    return true;
  }

  /** Ended jobs whose runner died between the terminal commit and removing the container. */
  private async releaseOrphanedRemovals(): Promise<void> {
    const removing = await this.dataSource
      .getRepository(JobEntity)
      .createQueryBuilder('j')
      .select(['j.id', 'j.runnerId'])
      .where("j.container_state = 'removing'")
      .andWhere('j.runner_id IS DISTINCT FROM :me', { me: this.runner.runnerId })
      .getMany();
    for (const job of removing) {
      if (!(await this.runner.liveness.isGone(job.runnerId ?? ''))) continue;
      await this.removeJobContainers(job.id);
      this.events.notify(job.id);
    }
  }

  /** At start every queued job; later, those waiting suspiciously long (an enqueue lost after commit). */
  private async requeueQueuedJobs(atStart: boolean): Promise<void> {
    const olderThan = new Date(Date.now() - (atStart ? 0 : this.config.requeueAfterMs));
    const queued = await this.dataSource
      .getRepository(JobEntity)
      .find({ where: { status: 'queued', createdAt: LessThanOrEqual(olderThan) }, select: { id: true, workspaceId: true } });
    for (const job of queued) await this.runner.enqueue({ id: job.id, workspaceId: job.workspaceId });
  }

  /** Containers labelled as jobs whose job is gone, finished (unless kept and within TTL) or interrupted. */
  private async removeStrayContainers(): Promise<void> {
    const install = await this.installation.installationId();
    const containers = await this.runtime.listContainers({ 'orcaops.kind': 'job', 'orcaops.install': install });
    if (!containers.length) return;
    const ids = [...new Set(containers.map((c) => c.labels['orcaops.job_id']).filter((v): v is string => !!v))];
    const jobs = ids.length
      ? await this.dataSource.getRepository(JobEntity).createQueryBuilder('j').where('j.id IN (:...ids)', { ids }).getMany()
      : [];
    const byId = new Map(jobs.map((j) => [j.id, j]));
    const now = Date.now();
    for (const container of containers) {
      const job = byId.get(container.labels['orcaops.job_id'] ?? '');
      const keep =
        job &&
        (job.status === 'queued' ||
          // Running, or ended and being removed by its runner right now: that runner's container while it lives.
          ((job.status === 'running' || job.containerState === 'removing') && (job.runnerId === this.runner.runnerId || !(await this.runner.liveness.isGone(job.runnerId ?? '')))) ||
          (job.containerState === 'kept' && job.keepUntil && job.keepUntil.getTime() > now));
      if (keep) continue;
      await this.runtime.remove(container.id);
      if (job) {
        await this.dataSource
          .getRepository(JobEntity)
          .update({ id: job.id, workspaceId: job.workspaceId }, { containerState: 'removed' });
      }
    }
  }

  private async removeJobContainers(jobId: string): Promise<void> {
    const install = await this.installation.installationId();
    const containers = await this.runtime.listContainers({ 'orcaops.job_id': jobId, 'orcaops.install': install });
    for (const c of containers) await this.runtime.remove(c.id);
    const job = await this.dataSource.getRepository(JobEntity).findOne({ where: { id: jobId }, select: { id: true, workspaceId: true } });
    if (job) await this.dataSource.getRepository(JobEntity).update({ id: jobId, workspaceId: job.workspaceId }, { containerState: 'removed' });
  }

  /** Finished jobs older than their workspace's retention (settings.job_retention_days) are deleted. */
  private async applyRetention(): Promise<void> {
    const rows: Array<{ id: string; workspace_id: string; session_id: string | null }> = await this.dataSource.query(
      `SELECT j.id, j.workspace_id, j.session_id FROM jobs j JOIN workspaces w ON w.id = j.workspace_id
       WHERE j.status IN ('succeeded','failed','timed_out','cancelled')
         AND j.finished_at < now() - make_interval(days => COALESCE((w.settings->>'job_retention_days')::int, $1))
       LIMIT 1000`,
      [this.config.defaultRetentionDays],
    );
    for (const row of rows) {
      // A delete like any other: audited (as the system) in the same transaction.
      await this.dataSource.transaction(async (manager) => {
        const deleted = await manager.getRepository(JobEntity).delete({ id: row.id, workspaceId: row.workspace_id });
        if (deleted.affected) {
          await this.audit.recordSystem(row.workspace_id, { action: 'job.delete', resourceType: 'job', resourceId: row.id, sessionId: row.session_id, details: { reason: 'retention' } }, manager);
        }
      });
      await this.storage.deletePrefix(`${row.workspace_id}/${row.id}`);
    }
    if (rows.length) this.logger.log({ msg: 'retention removed jobs', count: rows.length });
  }
}
