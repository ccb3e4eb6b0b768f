import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource, EntityManager } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobEvents } from 'src/jobs/job-events';
import type { ClaimedFields, Slot } from 'src/jobs/job-run';
import { jobsConfig } from 'src/jobs/jobs.config';
import { RunnerLiveness } from 'src/jobs/runner-liveness';
import { QuotasService } from 'src/quotas/quotas.service';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';
import { WORK_QUEUE, WorkItem, WorkQueue } from 'src/queue/work-queue.port';

export const JOBS_QUEUE = 'orcaops-jobs';
/** The queue backstop of a job waiting here for a slot its own workspace's local jobs will free. */
const BACKSTOP_SECONDS = 5;
/** The queue backstop of a job waiting here because every slot of this server was busy. */
const BUSY_BACKSTOP_SECONDS = 2;

/**
 * This server's job slots and claims: how many jobs run here (maxConcurrent), the jobs waiting for a
 * slot here or for their workspace's running-jobs cap, and the compare-and-set that makes a job this
 * runner's (`runnerId`, alive while `liveness` holds its lock). JobRunnerService decides what to start.
 */
@Injectable()
export class JobSlots {
  readonly runnerId = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly liveness: RunnerLiveness;
  private stopped = false;
  /** Slots taken and not yet counted in `running` (a job being claimed or admitted). */
  private reserved = 0;
  /** Jobs executing here (id → workspace): each holds a slot until it ends. */
  private readonly running = new Map<string, string>();
  /** Jobs that came while every slot here was busy, oldest first: a freed slot starts the next one. */
  private readonly waiting = new Map<string, WorkItem>();
  /**
   * Jobs this server deferred at their workspace's running-jobs cap, by workspace: the next job of that
   * workspace to finish here starts one at once. The delayed queue item stays as the backstop (a slot
   * freed on another server); the claim's compare-and-set keeps either path from running a job twice.
   */
  private readonly deferred = new Map<string, Map<string, WorkItem>>();

  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(WORK_QUEUE) private readonly queue: WorkQueue,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly events: JobEvents,
    private readonly quotas: QuotasService,
    metrics: PlatformMetrics,
  ) {
    this.liveness = new RunnerLiveness(dataSource);
    metrics.gauge('orcaops_job_slots', 'This server’s job slots: running (busy), waiting (jobs waiting here for a free slot), deferred (at their workspace’s running-jobs cap), capacity', ['state'], () => [
      { labels: { state: 'running' }, value: this.busySlots() },
      { labels: { state: 'waiting' }, value: this.waiting.size },
      { labels: { state: 'deferred' }, value: [...this.deferred.values()].reduce((n, m) => n + m.size, 0) },
      { labels: { state: 'capacity' }, value: this.config.maxConcurrent },
    ]);
  }

  /** True once the server began shutting down: no slot is handed out any more. */
  get stopping(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
  }

  enqueue(item: WorkItem, delaySeconds?: number): Promise<void> {
    return this.queue.enqueue(JOBS_QUEUE, item, { delaySeconds });
  }

  /**
   * A slot here, held until the job is counted as running (occupy) or given back, so it can be
   * claimed (even in the transaction that admits it) without overbooking; undefined when this server
   * is busy or stopping. The returned function gives the slot back; calling it again does nothing.
   */
  reserveSlot(): Slot | undefined {
    if (this.stopping || this.busySlots() >= this.config.maxConcurrent) return undefined;
    this.reserved++;
    let held = true;
    return () => {
      if (held) this.reserved--;
      held = false;
    };
  }

  /** A job now executing here: it counts in `running` until vacate (its reserved slot is given back by the caller). */
  occupy(jobId: string, workspaceId: string): void {
    this.running.set(jobId, workspaceId);
  }

  vacate(jobId: string): void {
    this.running.delete(jobId);
  }

  waitForSlot(item: WorkItem, delaySeconds: number): Promise<void> {
    this.waiting.set(item.id, item);
    return this.enqueue(item, delaySeconds);
  }

  /** A queue item that found every slot here busy: back to the queue (with its cap backstop when deferred). */
  requeueBusy(item: WorkItem): Promise<void> {
    return this.deferred.get(item.workspaceId)?.has(item.id) ? this.enqueue(item, this.backstopDelay(item)) : this.waitForSlot(item, BUSY_BACKSTOP_SECONDS);
  }

  /**
   * In the admitting transaction (QuotasService.admitJob, which holds the workspace lock that claims
   * take too): the fields that insert the job already claimed by this runner (running), or undefined
   * at the workspace's running-jobs cap (it is then inserted queued).
   */
  async claimAtInsert(manager: EntityManager, workspaceId: string, jobId: string, cap: number): Promise<ClaimedFields | undefined> {
    if (Number.isFinite(cap) && (await this.quotas.runningJobs(manager, workspaceId)) >= cap) return undefined;
    return this.claimedFields(jobId);
  }

  /** Gives a job inserted claimed back to the queue's state (the server began shutting down before it started). */
  unclaim(job: JobEntity): Promise<unknown> {
    return this.jobs
      .update(job.workspaceId, { id: job.id, status: 'running', runnerId: this.runnerId }, { status: 'queued', startedAt: null, heartbeatAt: null, runnerId: null, containerState: 'none' })
      .catch(() => 0);
  }

  private claimedFields(jobId: string): ClaimedFields {
    const now = new Date();
    return { status: 'running', startedAt: now, heartbeatAt: now, runnerId: this.runnerId, containerName: `orcaops-job-${jobId}`, containerState: 'pending' };
  }

  /**
   * A job found at its workspace's running-jobs cap (here, or by the admitting transaction): it starts
   * when a job of that workspace ends here; the delayed queue item is the backstop (a slot freed on
   * another server).
   */
  async defer(item: WorkItem): Promise<void> {
    const waiting = this.deferred.get(item.workspaceId) ?? new Map<string, WorkItem>();
    this.deferred.set(item.workspaceId, waiting.set(item.id, item));
    await this.enqueue(item, this.backstopDelay(item));
  }

  /**
   * Seconds until a deferred job's queue item comes back. While a job of its workspace runs here, that
   * job's end starts it (startDeferred), so the backstop can be slow: a burst of waiting jobs then does
   * not cycle every item through the queue each second.
   */
  private backstopDelay(item: WorkItem): number {
    return this.runsHere(item.workspaceId) ? BACKSTOP_SECONDS : 1;
  }

  runsHere(workspaceId: string): boolean {
    return [...this.running.values()].some((runningIn) => runningIn === workspaceId);
  }

  /** A slot of `workspaceId` just freed here: the job that waited longest for it (no longer deferred). */
  takeDeferred(workspaceId: string): WorkItem | undefined {
    const next: WorkItem | undefined = this.deferred.get(workspaceId)?.values().next().value;
    if (!next) return undefined;
    this.forgetDeferred(next);
    return next;
  }

  /** A slot of this server just freed: the oldest job that waited for one. */
  takeWaiting(): WorkItem | undefined {
    const next: WorkItem | undefined = this.waiting.values().next().value;
    if (!next) return undefined;
    this.waiting.delete(next.id);
    return next;
  }

  private forgetDeferred(item: WorkItem): void {
    const waiting = this.deferred.get(item.workspaceId);
    if (waiting?.delete(item.id) && !waiting.size) this.deferred.delete(item.workspaceId);
  }

  private busySlots(): number {
    return this.running.size + this.reserved;
  }

  /**
   * queued → running, under a per-workspace lock that enforces the running_jobs cap (a scheduling
   * quota: over it jobs wait). One conditional UPDATE claims the job only while it is still queued and
   * the workspace is under its cap; `submitted` (the row just inserted here) saves reading it again.
   */
  async claim(item: WorkItem, submitted?: JobEntity): Promise<JobEntity | undefined> {
    const claimed = this.claimedFields(item.id);
    // The cap is read on another connection while the transaction takes the lock (a limit changed
    // concurrently applies from the next claim either way).
    const capRead = this.quotas.runningJobsCap(this.dataSource.manager, item.workspaceId);
    capRead.catch(() => undefined);
    const result = await this.dataSource.transaction(async (manager) => {
      await this.quotas.lockWorkspace(manager, item.workspaceId);
      const cap = await capRead;
      const update = manager
        .createQueryBuilder()
        .update(JobEntity)
        .set(claimed)
        .where('workspace_id = :ws AND id = :id AND status = :queued', { ws: item.workspaceId, id: item.id, queued: 'queued' });
      if (Number.isFinite(cap)) {
        update.andWhere('(SELECT count(*) FROM jobs running WHERE running.workspace_id = :ws AND running.status = :running) < :cap', { running: 'running', cap });
      }
      if ((await update.execute()).affected) return 'run' as const;
      // Not claimed: either no longer queued (another server took it, cancelled) or at the cap.
      const row = await this.jobs.withManager(manager).findOne(item.workspaceId, { id: item.id });
      return row?.status === 'queued' ? ('defer' as const) : ('skip' as const);
    });
    // Decided here: no longer waiting for a server slot (at the cap it waits for the workspace's).
    this.waiting.delete(item.id);
    if (result === 'defer') await this.defer(item);
    if (result !== 'run') return undefined;
    // Claimed (here through the queue's backstop, perhaps): no longer waiting for a slot.
    this.forgetDeferred(item);
    this.events.progress(item.id);
    const job = submitted ?? (await this.jobs.findOne(item.workspaceId, { id: item.id }));
    return job ? Object.assign(job, claimed) : undefined;
  }
}
