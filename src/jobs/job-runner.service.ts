import { crashPoint } from 'src/jobs/crash-point';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { JobEntity } from 'src/jobs/entities/job.entity';
import type { JobDispatch } from 'src/jobs/job-dispatch';
import { JobEvents } from 'src/jobs/job-events';
import { JobExecutor } from 'src/jobs/job-executor';
import { JobFinisher } from 'src/jobs/job-finisher';
import { JobLogsService } from 'src/jobs/job-logs.service';
import { JobMetrics } from 'src/jobs/job-metrics';
import { Adoption, ClaimedFields, detached, RunState, settledWithin, Slot } from 'src/jobs/job-run';
import { JobSampler, SAMPLE_INTERVAL_MS } from 'src/jobs/job-sampler';
import { JOBS_QUEUE, JobSlots } from 'src/jobs/job-slots';
import { jobsConfig } from 'src/jobs/jobs.config';
import { RunnerLiveness } from 'src/jobs/runner-liveness';
import { WORK_QUEUE, WorkItem, WorkQueue } from 'src/queue/work-queue.port';

/**
 * Executes jobs taken from the queue or started here at submit: claim (compare-and-set queued →
 * running, JobSlots), then run the hardened container (JobExecutor, with JobArtifactCollector), sample
 * it (JobSampler), and record exactly one terminal state before removing the container (JobFinisher).
 * Every transition is committed before its side effect. This class only orchestrates: which job starts
 * in which slot, the run's timers, cancel and shutdown.
 */
@Injectable()
export class JobRunnerService implements JobDispatch, BeforeApplicationShutdown {
  private readonly logger = new Logger('JobRunner');
  private readonly active = new Map<string, RunState>();

  // Nine: the orchestrator of a run; each unit it calls (slots, executor, sampler, finisher, logs, metrics) has one job.
  constructor(
    @Inject(WORK_QUEUE) private readonly queue: WorkQueue,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly logs: JobLogsService,
    private readonly events: JobEvents,
    private readonly slots: JobSlots,
    private readonly executor: JobExecutor,
    private readonly sampler: JobSampler,
    private readonly finisher: JobFinisher,
    private readonly jobMetrics: JobMetrics,
  ) {}

  /** This server's runner id, held alive by `liveness` (JobSlots owns both; the reconciler reads them here). */
  get runnerId(): string {
    return this.slots.runnerId;
  }

  get liveness(): RunnerLiveness {
    return this.slots.liveness;
  }

  async startWorkers(): Promise<void> {
    await this.queue.work(JOBS_QUEUE, this.config.maxConcurrent, (item) => this.queued(item));
  }

  enqueue(item: WorkItem, delaySeconds?: number): Promise<void> {
    return this.slots.enqueue(item, delaySeconds);
  }

  /**
   * Starts a just-submitted job here when this server has a free slot (no queue round trip); otherwise
   * queues it for whichever server frees up first. Either way the claim's compare-and-set decides.
   */
  async dispatch(item: WorkItem, submitted?: JobEntity): Promise<void> {
    if (this.slots.stopping) return this.enqueue(item);
    const slot = this.reserveSlot();
    // Busy: any server may take it from the queue at once; a slot freed here starts it too.
    if (!slot) return this.slots.waitForSlot(item, 0);
    void this.handle(item, slot, submitted).finally(slot);
    return Promise.resolve();
  }

  reserveSlot(): Slot | undefined {
    return this.slots.reserveSlot();
  }

  claimAtInsert(manager: EntityManager, workspaceId: string, jobId: string, cap: number): Promise<ClaimedFields | undefined> {
    return this.slots.claimAtInsert(manager, workspaceId, jobId, cap);
  }

  /** Runs a job inserted claimed (claimAtInsert) in the slot reserved for it; `release` frees the slot at the end. */
  runClaimed(job: JobEntity, release: Slot): void {
    if (this.slots.stopping) {
      // Shutting down since the slot was reserved: nothing started yet, so the job waits for the next server.
      void this.slots.unclaim(job).finally(release);
      return;
    }
    this.events.progress(job.id);
    void this.execute(job, release)
      .catch((error: unknown) => this.logger.error({ msg: 'job execution crashed', jobId: job.id, err: String((error as Error).stack ?? error) }))
      .finally(release);
  }

  /**
   * JobSlots.defer() for a job the admitting transaction found at its cap. If no job of that workspace
   * runs here any more (the one holding the slot ended between that count and now), try once at once
   * rather than waiting for the backstop.
   */
  async deferAdmitted(item: WorkItem): Promise<void> {
    await this.slots.defer(item);
    if (!this.slots.runsHere(item.workspaceId)) this.startDeferred(item.workspaceId);
  }

  /** A slot of `workspaceId` just freed here: start the job that waited longest for it. */
  private startDeferred(workspaceId: string): boolean {
    const next = this.slots.takeDeferred(workspaceId);
    if (!next) return false;
    this.start(next);
    return true;
  }

  /** A slot of this server just freed: a job of the same workspace that waited for its cap first, else the oldest waiting one. */
  private startNext(workspaceId: string): void {
    if (this.slots.stopping || this.startDeferred(workspaceId)) return;
    const next = this.slots.takeWaiting();
    if (!next) return;
    this.start(next);
  }

  private start(item: WorkItem): void {
    void this.dispatch(item).catch((error: unknown) => this.logger.warn({ msg: 'could not start a waiting job', jobId: item.id, err: String(error) }));
  }

  /** Stops a job running in this process now (cancel). Returns false if it runs elsewhere or not at all. */
  abortLocal(jobId: string): boolean {
    const state = this.active.get(jobId);
    if (!state) return false;
    state.facts.cancelled = true;
    state.controller.abort();
    return true;
  }

  /** True once the server began shutting down (it takes no job over any more). */
  get stopping(): boolean {
    return this.slots.stopping;
  }

  /**
   * Takes over a job whose server went away while its container ran the one step as its main process
   * (the reconciler claimed the row for this runner): watches it to its end here, from its original
   * start and deadline. It counts in this server's slots even when they are full: it already runs.
   */
  async adopt(job: JobEntity, containerId: string): Promise<void> {
    const adoption: Adoption = { containerId, output: await this.logs.stored(job.workspaceId, job.id) };
    const slot = this.reserveSlot() ?? ((): void => undefined);
    this.logger.log({ msg: 'job re-attached', jobId: job.id });
    void this.execute(job, slot, adoption)
      .catch((error: unknown) => this.logger.error({ msg: 'job execution crashed', jobId: job.id, err: String((error as Error).stack ?? error) }))
      .finally(slot);
  }

  /**
   * Graceful shutdown. A job whose container runs its step as the main process is left running for the
   * next server to re-attach (long jobs survive a restart); other running jobs end as interrupted
   * (at-most-once: never re-run), containers removed.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.slots.stop();
    const running = [...this.active.values()];
    for (const state of running) {
      if (state.reattachable) {
        state.detach.abort();
        continue;
      }
      state.failure = { reason: 'interrupted', message: 'the server shut down while the job ran' };
      state.controller.abort();
    }
    if (running.length) await settledWithin(Promise.all(running.map((s) => s.ended)), 10_000);
  }

  private async queued(item: WorkItem): Promise<void> {
    if (this.slots.stopping) return;
    // Local dispatch may have filled the slots the queue's workers assume are free.
    const slot = this.reserveSlot();
    if (!slot) return this.slots.requeueBusy(item);
    try {
      await this.handle(item, slot);
    } finally {
      slot();
    }
  }

  private async handle(item: WorkItem, slot: Slot, submitted?: JobEntity): Promise<void> {
    if (this.slots.stopping) return;
    const job = await this.slots.claim(item, submitted);
    if (!job) return;
    try {
      await this.execute(job, slot);
    } catch (error) {
      this.logger.error({ msg: 'job execution crashed', jobId: job.id, err: String((error as Error).stack ?? error) });
    }
  }

  /** Runs a claimed (or adopted) job; `slot` (taken for it) is given back once the job counts in `active`. */
  private async execute(job: JobEntity, slot: Slot, adoption?: Adoption): Promise<void> {
    if (!adoption) crashPoint('job_claimed');
    if (!adoption) this.jobMetrics.started(job);
    const spec = job.spec;
    let ended = (): void => undefined;
    const stored = adoption && job.steps?.length === spec.steps.length ? job.steps.map((s) => ({ ...s })) : undefined;
    const state: RunState = {
      ended: new Promise((resolve) => (ended = resolve)),
      job,
      writer: this.logs.openWriter(job.workspaceId, job.id, this.config.outputCapBytes, adoption?.output),
      adoption,
      reattachable: false,
      detach: new AbortController(),
      steps: stored ?? spec.steps.map((s, index) => ({
        index,
        name: s.name ?? `step ${index + 1}`,
        status: 'pending',
        continue_on_error: s.continue_on_error ?? false,
        exit_code: null,
        started_at: null,
        finished_at: null,
        duration_ms: null,
      })),
      facts: { steps: [], cancelled: false, deadlineExceeded: false, oomKilled: false },
      cpuSeconds: null,
      memoryPeakBytes: null,
      blockReadBytes: null,
      blockWriteBytes: null,
      pidsPeak: null,
      phases: { queued_at: job.createdAt.toISOString(), admitted_at: (job.startedAt ?? new Date()).toISOString() },
      engineVersion: null,
      runtimeVersion: null,
      controller: new AbortController(),
      artifacts: [],
      engineFailures: 0,
    };
    this.active.set(job.id, state);
    this.slots.occupy(job.id, job.workspaceId);
    slot();
    const sampler = setInterval(() => void this.sampler.sample(state), SAMPLE_INTERVAL_MS);
    let deadlineTimer: NodeJS.Timeout | undefined;
    try {
      // The pull phase is not run time: the timeout starts when a pull ends.
      const pulledAt = await this.executor.prepareImage(state, spec);
      const deadline = Math.max((job.startedAt ?? new Date()).getTime(), pulledAt ?? 0) + spec.timeout_seconds * 1000;
      deadlineTimer = setTimeout(() => {
        state.facts.deadlineExceeded = true;
        state.controller.abort();
      }, Math.max(0, deadline - Date.now()));
      if (!state.controller.signal.aborted) await this.executor.run(state, spec, deadline);
    } catch (error) {
      state.failure ??= this.executor.failureFor(error);
    } finally {
      clearTimeout(deadlineTimer);
      clearInterval(sampler);
      try {
        // Detached at shutdown: no terminal state, the container keeps running; the next server re-attaches.
        if (detached(state)) await state.writer.flush();
        else await this.finisher.finish(state);
      } finally {
        this.active.delete(job.id);
        this.slots.vacate(job.id);
        ended();
        this.startNext(job.workspaceId);
        this.queue.poke(JOBS_QUEUE);
      }
    }
  }
}
