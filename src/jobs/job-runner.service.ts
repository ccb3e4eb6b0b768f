import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource, EntityManager, In } from 'typeorm';
import { InstallationService } from 'src/database/installation.service';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { boundedExec, DRIVER_EXEC_MAX_BYTES } from 'src/jobs/bounded-exec';
import { ArtifactCollection, COLLECT_SCRIPT, contentTypeFor, DEFAULT_ARTIFACT_LIMITS } from 'src/jobs/artifact-archive';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobEvents } from 'src/jobs/job-events';
import { JobLogsService, JobLogWriter } from 'src/jobs/job-logs.service';
import { CollectedFiles, DrivenJobIo, JobStepDriver, JobStepDrivers } from 'src/jobs/job-step-driver';
import { JobReason, JobSpec, StepResult } from 'src/jobs/job-model';
import { classifyOutcome, fromStatesFor, Outcome, RunFacts, shouldRemoveContainer } from 'src/jobs/job-rules';
import { jobsConfig } from 'src/jobs/jobs.config';
import { RunnerLiveness } from 'src/jobs/runner-liveness';
import { QuotasService } from 'src/quotas/quotas.service';
import { WORK_QUEUE, WorkItem, WorkQueue } from 'src/queue/work-queue.port';
import { CONTAINER_RUNTIME, ContainerRuntime, ContainerSpec } from 'src/runtime/container-runtime.port';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { RuntimeError } from 'src/runtime/runtime.errors';
import { ARTIFACT_STORAGE, ArtifactStorage } from 'src/storage/artifact-storage.port';

export const JOBS_QUEUE = 'orcaops-jobs';
const MiB = 1024 * 1024;
const SAMPLE_INTERVAL_MS = 1_000;
/** The queue backstop of a job waiting here for a slot its own workspace's local jobs will free. */
const BACKSTOP_SECONDS = 5;
/** The queue backstop of a job waiting here because every slot of this server was busy. */
const BUSY_BACKSTOP_SECONDS = 2;
/** Extracts the tar on stdin into $1 (created if needed) without restoring owners: the files are the job user's. */
const EXTRACT_SCRIPT = 'mkdir -p -- "$1" && cd -- "$1" && exec tar -x -o -f -';
/** PID 1's child: keeps the container alive while steps run as execs. */
const KEEPALIVE = ['sleep', '2147483647'];

export const jobLabels = (
  job: Pick<JobEntity, 'id' | 'workspaceId'>,
  installationId: string,
  deadline: number,
): Record<string, string> => ({
  'orcaops.managed': 'true',
  'orcaops.install': installationId,
  'orcaops.kind': 'job',
  'orcaops.job_id': job.id,
  'orcaops.workspace_id': job.workspaceId,
  'orcaops.deadline': String(Math.ceil(deadline / 1000)),
});

export function containerSpecFor(job: JobEntity, installationId: string, deadline: number): ContainerSpec {
  const { resources } = job.spec;
  const internal = job.spec.internal;
  return {
    name: `orcaops-job-${job.id}`,
    image: job.spec.image,
    command: KEEPALIVE,
    env: job.spec.env,
    labels: { ...job.spec.internal?.labels, ...jobLabels(job, installationId, deadline) },
    workingDir: '/workspace',
    resources: {
      cpus: resources.cpu,
      memoryBytes: resources.memory_mb * MiB,
      pidsLimit: resources.pids,
      tmpBytes: internal?.tmp_bytes ?? 64 * MiB,
      workspaceBytes: resources.disk_mb * MiB,
      nofile: internal?.nofile ?? 1024,
    },
    network: job.spec.network,
    ...(internal?.attach ? { attach: internal.attach } : {}),
    ...(internal?.extra_hosts ? { extraHosts: internal.extra_hosts } : {}),
    // Workflow `container.options` (src/workflows/runner/service-options.ts): typed, still the strict profile.
    ...(internal?.user ? { user: internal.user } : {}),
    ...(internal?.tmpfs?.length ? { tmpfs: internal.tmpfs.map((t) => ({ path: t.path, sizeBytes: t.size_bytes, ...(t.mode ? { mode: t.mode } : {}), exec: t.exec === true })) } : {}),
    ...(internal?.volumes?.length ? { volumes: internal.volumes.map((v) => ({ name: v.name, target: v.target, readOnly: v.read_only })) } : {}),
    ...(internal?.shm_bytes ? { shmBytes: internal.shm_bytes } : {}),
  };
}

/** Waits for `promise` at most `ms` (the timer does not outlive it). */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Settles when the run is aborted, with what wait() would say of a killed process. */
function abortedWait(signal: AbortSignal): Promise<{ exitCode: number; oomKilled: boolean }> {
  return new Promise((resolve) => {
    const done = (): void => resolve({ exitCode: 137, oomKilled: false });
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}

/** A taken slot of this server; calling it gives the slot back (again: nothing). */
type Slot = () => void;

type ClaimedFields = Pick<JobEntity, 'status' | 'startedAt' | 'heartbeatAt' | 'runnerId' | 'containerName' | 'containerState'>;

interface RunState {
  job: JobEntity;
  writer: JobLogWriter;
  steps: StepResult[];
  facts: RunFacts;
  containerId?: string;
  cpuSeconds: number | null;
  memoryPeakBytes: number | null;
  controller: AbortController;
  failure?: { reason: JobReason; message: string };
  artifacts: JobArtifactEntity[];
  /** Consecutive samples that could not reach the engine. */
  engineFailures: number;
  /** Settles when the run has ended and its container is released. */
  ended: Promise<void>;
}

/**
 * Executes jobs taken from the queue: claim (compare-and-set queued → running), then create the
 * hardened container, run each step as an exec, collect artifacts, and record exactly one terminal
 * state before removing the container. Every transition is committed before its side effect.
 */
@Injectable()
export class JobRunnerService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('JobRunner');
  private readonly active = new Map<string, RunState>();
  readonly runnerId = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly liveness: RunnerLiveness;
  private stopping = false;
  /** Slots taken and not yet counted in `active` (a job being claimed or admitted). */
  private reserved = 0;
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
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @Inject(WORK_QUEUE) private readonly queue: WorkQueue,
    @Inject(ARTIFACT_STORAGE) private readonly storage: ArtifactStorage,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly logs: JobLogsService,
    private readonly events: JobEvents,
    private readonly engine: EngineHealth,
    private readonly installation: InstallationService,
    private readonly quotas: QuotasService,
    private readonly drivers: JobStepDrivers,
  ) {
    this.liveness = new RunnerLiveness(dataSource);
  }

  async startWorkers(): Promise<void> {
    await this.queue.work(JOBS_QUEUE, this.config.maxConcurrent, (item) => this.queued(item));
  }

  enqueue(item: WorkItem, delaySeconds?: number): Promise<void> {
    return this.queue.enqueue(JOBS_QUEUE, item, { delaySeconds });
  }

  /**
   * Starts a just-submitted job here when this server has a free slot (no queue round trip); otherwise
   * queues it for whichever server frees up first. Either way the claim's compare-and-set decides.
   */
  async dispatch(item: WorkItem, submitted?: JobEntity): Promise<void> {
    if (this.stopping) return this.enqueue(item);
    const slot = this.reserveSlot();
    // Busy: any server may take it from the queue at once; a slot freed here starts it too.
    if (!slot) return this.waitForSlot(item, 0);
    void this.handle(item, slot, submitted).finally(slot);
    return Promise.resolve();
  }

  /**
   * A slot here, held until the job is counted in `active` (execute) or given back, so it can be
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

  private waitForSlot(item: WorkItem, delaySeconds: number): Promise<void> {
    this.waiting.set(item.id, item);
    return this.enqueue(item, delaySeconds);
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

  /** Runs a job inserted claimed (claimAtInsert) in the slot reserved for it; `release` frees the slot at the end. */
  runClaimed(job: JobEntity, release: Slot): void {
    if (this.stopping) {
      // Shutting down since the slot was reserved: nothing started yet, so the job waits for the next server.
      void this.jobs
        .update(job.workspaceId, { id: job.id, status: 'running', runnerId: this.runnerId }, { status: 'queued', startedAt: null, heartbeatAt: null, runnerId: null, containerState: 'none' })
        .catch(() => 0)
        .finally(release);
      return;
    }
    this.events.progress(job.id);
    void this.execute(job, release)
      .catch((error: unknown) => this.logger.error({ msg: 'job execution crashed', jobId: job.id, err: String((error as Error).stack ?? error) }))
      .finally(release);
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

  private runsHere(workspaceId: string): boolean {
    return [...this.active.values()].some((state) => state.job.workspaceId === workspaceId);
  }

  /**
   * defer() for a job the admitting transaction found at its cap. If no job of that workspace runs here
   * any more (the one holding the slot ended between that count and now), try once at once rather than
   * waiting for the backstop.
   */
  async deferAdmitted(item: WorkItem): Promise<void> {
    await this.defer(item);
    if (!this.runsHere(item.workspaceId)) this.startDeferred(item.workspaceId);
  }

  /** A slot of `workspaceId` just freed here: start the job that waited longest for it. */
  private startDeferred(workspaceId: string): boolean {
    const next: WorkItem | undefined = this.deferred.get(workspaceId)?.values().next().value;
    if (!next) return false;
    this.forgetDeferred(next);
    this.start(next);
    return true;
  }

  /** A slot of this server just freed: a job of the same workspace that waited for its cap first, else the oldest waiting one. */
  private startNext(workspaceId: string): void {
    if (this.stopping || this.startDeferred(workspaceId)) return;
    const next: WorkItem | undefined = this.waiting.values().next().value;
    if (!next) return;
    this.waiting.delete(next.id);
    this.start(next);
  }

  private start(item: WorkItem): void {
    void this.dispatch(item).catch((error: unknown) => this.logger.warn({ msg: 'could not start a waiting job', jobId: item.id, err: String(error) }));
  }

  private forgetDeferred(item: WorkItem): void {
    const waiting = this.deferred.get(item.workspaceId);
    if (waiting?.delete(item.id) && !waiting.size) this.deferred.delete(item.workspaceId);
  }

  private busySlots(): number {
    return this.active.size + this.reserved;
  }

  /** Stops a job running in this process now (cancel). Returns false if it runs elsewhere or not at all. */
  abortLocal(jobId: string): boolean {
    const state = this.active.get(jobId);
    if (!state) return false;
    state.facts.cancelled = true;
    state.controller.abort();
    return true;
  }

  /** Graceful shutdown: running jobs end as interrupted (at-most-once: never re-run), containers removed. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const running = [...this.active.values()];
    for (const state of running) {
      state.failure = { reason: 'interrupted', message: 'the server shut down while the job ran' };
      state.controller.abort();
    }
    if (running.length) await settledWithin(Promise.all(running.map((s) => s.ended)), 10_000);
  }

  private async queued(item: WorkItem): Promise<void> {
    if (this.stopping) return;
    // Local dispatch may have filled the slots the queue's workers assume are free.
    const slot = this.reserveSlot();
    if (!slot) return this.deferred.get(item.workspaceId)?.has(item.id) ? this.enqueue(item, this.backstopDelay(item)) : this.waitForSlot(item, BUSY_BACKSTOP_SECONDS);
    try {
      await this.handle(item, slot);
    } finally {
      slot();
    }
  }

  private async handle(item: WorkItem, slot: Slot, submitted?: JobEntity): Promise<void> {
    if (this.stopping) return;
    const job = await this.claim(item, submitted);
    if (!job) return;
    try {
      await this.execute(job, slot);
    } catch (error) {
      this.logger.error({ msg: 'job execution crashed', jobId: job.id, err: String((error as Error).stack ?? error) });
    }
  }

  /**
   * queued → running, under a per-workspace lock that enforces the running_jobs cap (a scheduling
   * quota: over it jobs wait). One conditional UPDATE claims the job only while it is still queued and
   * the workspace is under its cap; `submitted` (the row just inserted here) saves reading it again.
   */
  private async claim(item: WorkItem, submitted?: JobEntity): Promise<JobEntity | undefined> {
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

  /** Runs a claimed job; `slot` (taken for it) is given back once the job counts in `active`. */
  private async execute(job: JobEntity, slot: Slot): Promise<void> {
    const spec = job.spec;
    let ended = (): void => undefined;
    const state: RunState = {
      ended: new Promise((resolve) => (ended = resolve)),
      job,
      writer: this.logs.openWriter(job.workspaceId, job.id, this.config.outputCapBytes),
      steps: spec.steps.map((s, index) => ({
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
      controller: new AbortController(),
      artifacts: [],
      engineFailures: 0,
    };
    this.active.set(job.id, state);
    slot();
    const deadline = (job.startedAt ?? new Date()).getTime() + spec.timeout_seconds * 1000;
    const deadlineTimer = setTimeout(() => {
      state.facts.deadlineExceeded = true;
      state.controller.abort();
    }, Math.max(0, deadline - Date.now()));
    const sampler = setInterval(() => void this.sample(state), SAMPLE_INTERVAL_MS);
    state.controller.signal.addEventListener('abort', () => {
      // Stop everything in the container at once; the step's exec then returns.
      if (state.containerId) this.runtime.kill(state.containerId).catch(() => undefined);
    });
    try {
      await this.runContainer(state, spec, deadline);
    } catch (error) {
      state.failure ??= this.failureFor(error);
    } finally {
      clearTimeout(deadlineTimer);
      clearInterval(sampler);
      try {
        await this.finish(state);
      } finally {
        this.active.delete(job.id);
        ended();
        this.startNext(job.workspaceId);
        this.queue.poke(JOBS_QUEUE);
      }
    }
  }

  private async runContainer(state: RunState, spec: JobSpec, deadline: number): Promise<void> {
    // One step and nothing to collect: the step is the container's main process (no keep-alive, no
    // exec round trips), which keeps a trivial job close to the cost of a bare `docker run`.
    const driverName = spec.internal?.step_driver;
    if (spec.steps.length === 1 && spec.artifacts.length === 0 && !driverName) return this.runAsMainProcess(state, spec, deadline);
    const { job } = state;
    const installationId = await this.installation.installationId();
    state.containerId = await this.runtime.createContainer(containerSpecFor(job, installationId, deadline));
    await this.jobs.update(job.workspaceId, { id: job.id, status: 'running' }, { containerId: state.containerId });
    if (state.controller.signal.aborted) return;
    await this.runtime.startContainer(state.containerId);
    if (driverName) {
      const driver = this.drivers.get(driverName);
      if (!driver) throw new Error(`no step driver named ${driverName} is registered`);
      await this.runDrivenSteps(state, driver, deadline);
      if (spec.artifacts.length && !state.controller.signal.aborted) await this.collectArtifacts(state, spec.artifacts);
      await this.sample(state);
      return;
    }
    for (const [index, step] of spec.steps.entries()) {
      const result = state.steps[index]!;
      if (state.controller.signal.aborted) break;
      await this.runStep(state, index, step, deadline);
      if (result.status !== 'succeeded' && !(result.status === 'failed' && result.continue_on_error)) break;
    }
    for (const s of state.steps) if (s.status === 'pending') s.status = 'skipped';
    if (spec.artifacts.length && !state.controller.signal.aborted) await this.collectArtifacts(state, spec.artifacts);
    await this.sample(state);
  }

  /** Steps resolved one by one by a driver, which also decides which steps run after a failure. */
  private async runDrivenSteps(state: RunState, driver: JobStepDriver, deadline: number): Promise<void> {
    const handle = { id: state.job.id, workspaceId: state.job.workspaceId };
    const io = this.driverIo(state);
    let failed = false;
    for (const [index, result] of state.steps.entries()) {
      if (state.controller.signal.aborted) break;
      const step = await driver.before(handle, index, failed, io);
      if (!step) {
        result.status = 'skipped';
        continue;
      }
      if (step.name) result.name = step.name;
      result.continue_on_error = step.continue_on_error ?? false;
      await this.runStep(state, index, step, deadline);
      // Timed out or cancelled: the container is being killed, nothing is left to read.
      if (state.controller.signal.aborted) break;
      const problem = await driver.after(handle, index, result, io).catch((error: unknown) => `could not read the step's files: ${String(error)}`);
      if (problem) {
        state.writer.system(`step ${index + 1}: ${problem}`);
        if (result.status === 'succeeded') result.status = 'failed';
        await this.persistSteps(state);
      }
      if (result.status !== 'succeeded' && !(result.status === 'failed' && result.continue_on_error)) failed = true;
    }
    for (const s of state.steps) if (s.status === 'pending') s.status = 'skipped';
    if (!state.controller.signal.aborted) {
      const problem = await driver.finish(handle, state.steps, io).catch((error: unknown) => void state.writer.system(`step driver: ${String(error)}`));
      if (problem) {
        state.writer.system(problem);
        state.facts.artifactError ??= problem;
      }
    }
  }

  private driverIo(state: RunState): DrivenJobIo {
    return {
      exec: (command, timeoutMs = 30_000, maxBytes = DRIVER_EXEC_MAX_BYTES) =>
        boundedExec(this.runtime, state.containerId!, command, { timeoutMs, maxBytes, signal: state.controller.signal }),
      collect: (patterns) => this.collectFiles(state, patterns),
      putArchive: (directory, tar) => this.extractInto(state, directory, tar),
    };
  }

  private async runAsMainProcess(state: RunState, spec: JobSpec, deadline: number): Promise<void> {
    const { job } = state;
    const step = spec.steps[0]!;
    const result = state.steps[0]!;
    const installationId = await this.installation.installationId();
    state.containerId = await this.runtime.createContainer({
      ...containerSpecFor(job, installationId, deadline),
      command: step.args ?? ['/bin/sh', '-c', step.command ?? ''],
      env: { ...spec.env, ...step.env },
      workingDir: step.cwd ?? '/workspace',
    });
    const containerId = state.containerId;
    // The claim already stored the container's name (which is how recovery finds it), so the id and
    // the step's start are written while the container starts rather than before.
    const started = Date.now();
    Object.assign(result, { status: 'running', started_at: new Date(started).toISOString() });
    const persisted = this.jobs
      .update(job.workspaceId, { id: job.id, status: 'running' }, { containerId, steps: state.steps })
      .then(() => this.events.progress(job.id));
    if (state.controller.signal.aborted) return persisted;
    const { ended } = await this.runtime.attach(containerId, (stream, chunk) => state.writer.write(0, stream, chunk));
    const remaining = deadline - started;
    const stepLimit = step.timeout_seconds ? step.timeout_seconds * 1000 : Infinity;
    let stepTimedOut = false;
    const timer = setTimeout(
      () => {
        stepTimedOut = true;
        if (stepLimit >= remaining) state.facts.deadlineExceeded = true;
        this.runtime.kill(containerId).catch(() => undefined);
      },
      Math.max(1, Math.min(stepLimit, remaining, 2 ** 31 - 1)),
    );
    try {
      await this.runtime.startContainer(containerId);
      const exit = await Promise.race([this.runtime.wait(containerId), abortedWait(state.controller.signal)]);
      await settledWithin(ended, 3_000);
      let status: StepResult['status'];
      if (state.controller.signal.aborted) status = state.facts.deadlineExceeded ? 'timed_out' : 'cancelled';
      else if (stepTimedOut) status = 'timed_out';
      else status = exit.exitCode === 0 ? 'succeeded' : 'failed';
      if (status === 'failed' && exit.oomKilled) {
        state.facts.oomKilled = true;
        state.writer.system('step 1 was killed: out of memory');
      }
      if (status === 'timed_out') state.writer.system('step 1 timed out; its processes were killed');
      Object.assign(result, { status, exit_code: exit.exitCode, finished_at: new Date().toISOString(), duration_ms: Date.now() - started });
    } finally {
      clearTimeout(timer);
      await persisted;
    }
    // The exit code is committed with the terminal state, before the container is removed (finish).
  }

  private async runStep(state: RunState, index: number, step: JobSpec['steps'][number], deadline: number): Promise<void> {
    const result = state.steps[index]!;
    const started = Date.now();
    Object.assign(result, { status: 'running', started_at: new Date(started).toISOString() });
    await this.persistSteps(state);
    const remaining = deadline - started;
    const stepLimit = step.timeout_seconds ? step.timeout_seconds * 1000 : Infinity;
    const exec = await this.runtime.exec(state.containerId!, {
      command: step.args ?? ['/bin/sh', '-c', step.command ?? ''],
      env: step.env,
      cwd: step.cwd ?? '/workspace',
      timeoutMs: Math.max(1, Math.min(stepLimit, remaining)),
      signal: state.controller.signal,
      onOutput: (stream, chunk) => state.writer.write(index, stream, chunk),
    });
    if (exec.timedOut && stepLimit >= remaining) state.facts.deadlineExceeded = true;
    let status: StepResult['status'];
    if (exec.aborted) status = state.facts.deadlineExceeded ? 'timed_out' : 'cancelled';
    else if (exec.timedOut) status = 'timed_out';
    else status = exec.exitCode === 0 ? 'succeeded' : 'failed';
    if (status === 'failed' && !state.facts.oomKilled) state.facts.oomKilled = await this.oomKilled(state.containerId!);
    if (status === 'timed_out') state.writer.system(`step ${index + 1} timed out; its processes were killed`);
    if (status === 'failed' && state.facts.oomKilled) state.writer.system(`step ${index + 1} was killed: out of memory`);
    Object.assign(result, {
      status,
      exit_code: exec.exitCode,
      finished_at: new Date().toISOString(),
      duration_ms: Date.now() - started,
    });
    await this.persistSteps(state);
  }

  private async collectArtifacts(state: RunState, patterns: string[]): Promise<void> {
    const collected = await this.collectFiles(state, patterns);
    if (collected.error) state.facts.artifactError = collected.error;
  }

  /**
   * Tars the matches of `patterns` inside the container (COLLECT_SCRIPT), parses the stream as hostile
   * input and stores each file; the rows are saved with the job's terminal state. A name collected
   * again (a later upload of the same path) replaces the earlier file.
   */
  private async collectFiles(state: RunState, patterns: string[]): Promise<CollectedFiles> {
    const { job } = state;
    // Bounded (artifact-archive.ts): a cap hit stops the exec and fails the collection naming the limit.
    const collection = new ArtifactCollection(DEFAULT_ARTIFACT_LIMITS, state.controller.signal);
    const exec = await this.runtime.exec(state.containerId!, {
      command: ['/bin/sh', '-c', COLLECT_SCRIPT, 'orcaops-collect', ...patterns],
      cwd: '/workspace',
      timeoutMs: 120_000,
      signal: collection.signal,
      onOutput: collection.onOutput,
    });
    const { result: parsed, messages } = await collection.finish();
    if (collection.limitError) {
      state.writer.system(`artifacts: ${collection.limitError}`);
      return { files: [], missing: [], refused: [], error: collection.limitError };
    }
    if (messages) state.writer.system(`artifacts: ${messages.split('\n').join('; ')}`);
    const missing = messages
      .split('\n')
      .filter((l) => l.startsWith('no match: '))
      .map((l) => l.slice('no match: '.length));
    const { files, rejected, rejectedCount } = parsed;
    if (exec.exitCode === 3) return { files: [], missing, refused: [] };
    // Directory entries are expected (a directory path): their files are kept, the entry itself is not news.
    const refused = rejected.filter((r) => r.reason !== 'directory');
    for (const r of refused) state.writer.system(`artifact refused: ${r.name} (${r.reason})`);
    if (rejectedCount > rejected.length) state.writer.system(`artifacts: ${rejectedCount - rejected.length} more entries refused (not listed)`);
    for (const file of files) {
      const id = randomUUID();
      const key = `${job.workspaceId}/${job.id}/${id}`;
      const stored = await this.storage.put(key, file.data);
      const artifact = Object.assign(new JobArtifactEntity(), {
        id,
        workspaceId: job.workspaceId,
        jobId: job.id,
        name: file.name,
        sizeBytes: stored.sizeBytes,
        sha256: stored.sha256,
        contentType: contentTypeFor(file.name),
        storageKey: key,
      });
      const earlier = state.artifacts.findIndex((a) => a.name === file.name);
      if (earlier >= 0) state.artifacts[earlier] = artifact;
      else state.artifacts.push(artifact);
    }
    const error = exec.exitCode !== 0 && files.length === 0 ? `artifact collection failed (tar exited ${exec.exitCode ?? 'without a code'})` : undefined;
    return { files: files.map((f) => f.name), missing, refused, ...(error ? { error } : {}) };
  }

  /** Extracts a tar the driver built into a directory of the container, as the job's user (never the archive API: /workspace is a tmpfs). */
  private async extractInto(state: RunState, directory: string, tar: Buffer): Promise<void> {
    const stderr: Buffer[] = [];
    const exec = await this.runtime.exec(state.containerId!, {
      command: ['/bin/sh', '-c', EXTRACT_SCRIPT, 'orcaops-extract', directory],
      cwd: '/workspace',
      stdin: tar,
      timeoutMs: 120_000,
      signal: state.controller.signal,
      onOutput: (stream, chunk) => stream === 'stderr' && stderr.push(chunk),
    });
    if (exec.exitCode !== 0) {
      const message = Buffer.concat(stderr).toString('utf8').trim().split('\n').pop();
      throw new Error(`could not extract into ${directory}: ${message || `tar exited ${exec.exitCode ?? 'without a code'}`}`);
    }
  }

  /**
   * Whether the memory limit killed a process in the container. Docker's State.OOMKilled only covers
   * the main process, and steps run as execs, so read the kernel's own counter from the container's
   * cgroup (read-only to the job): memory.oom_control on cgroup v1, memory.events on v2.
   */
  private async oomKilled(containerId: string): Promise<boolean> {
    if ((await this.runtime.inspect(containerId).catch(() => undefined))?.oomKilled) return true;
    const chunks: Buffer[] = [];
    const probe = await this.runtime
      .exec(containerId, {
        command: ['cat', '/sys/fs/cgroup/memory/memory.oom_control', '/sys/fs/cgroup/memory.events'],
        timeoutMs: 5_000,
        onOutput: (stream, chunk) => stream === 'stdout' && chunks.push(chunk),
      })
      .catch(() => undefined);
    if (!probe) return false;
    const match = /^oom_kill (\d+)$/m.exec(Buffer.concat(chunks).toString('utf8'));
    return Number(match?.[1] ?? 0) > 0;
  }

  /** Resource usage, heartbeat, and cancel requests made through another server. */
  private async sample(state: RunState): Promise<void> {
    const { job } = state;
    if (state.containerId) {
      try {
        const stats = await this.runtime.stats(state.containerId);
        state.cpuSeconds = Math.max(state.cpuSeconds ?? 0, stats.cpuSeconds);
        state.memoryPeakBytes = Math.max(state.memoryPeakBytes ?? 0, stats.memoryPeakBytes ?? stats.memoryBytes);
        state.engineFailures = 0;
      } catch (error) {
        // Lost the engine: a job that cannot be observed fails now rather than hanging (hardening.md §4.2.7).
        if (error instanceof RuntimeError && error.code === 'engine_unavailable' && ++state.engineFailures >= 2) {
          state.failure ??= this.failureFor(error);
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

  private async persistSteps(state: RunState): Promise<void> {
    await this.jobs.update(state.job.workspaceId, { id: state.job.id, status: 'running' }, { steps: state.steps });
    this.events.progress(state.job.id);
  }

  private failureFor(error: unknown): { reason: JobReason; message: string } {
    if (error instanceof RuntimeError) {
      if (error.code === 'image_not_found') return { reason: 'image_not_found', message: error.message };
      if (error.code === 'engine_unavailable') {
        this.engine.invalidate();
        return { reason: 'engine_unavailable', message: 'the Docker engine became unreachable' };
      }
    }
    this.logger.error({ msg: 'job failed with an internal error', err: String((error as Error)?.stack ?? error) });
    return { reason: 'internal_error', message: 'internal error while running the job' };
  }

  /**
   * Ends the run: the one terminal state (compare-and-set), exit codes, usage and artifacts are committed
   * in one write before the container is removed or stopped (hardening.md §4.2.2); the row says
   * `removing` meanwhile. Waiters are woken once the container is released, with the settled job (no
   * re-read), so a caller that sees the end also sees the container gone (or kept, as the policy says).
   */
  private async finish(state: RunState): Promise<void> {
    const { job } = state;
    state.facts.steps = state.steps;
    for (const s of state.steps) if (s.status === 'running') s.status = state.facts.cancelled ? 'cancelled' : 'timed_out';
    const outcome: Outcome = state.failure
      ? { status: 'failed', reason: state.failure.reason, exitCode: null, message: state.failure.message }
      : classifyOutcome(state.facts);
    if (state.failure) state.writer.system(`job failed: ${state.failure.message}`);
    await state.writer.flush();
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
    const won = await write(async (manager) => {
      const updated = await this.jobs.withManager(manager).update(job.workspaceId, { id: job.id, status: In(fromStatesFor(outcome.status)) }, terminal);
      if (!updated) return false;
      if (state.artifacts.length) await manager.getRepository(JobArtifactEntity).save(state.artifacts);
      await this.quotas.recordJobCpu(manager, job.workspaceId, state.cpuSeconds);
      return true;
    });
    const released = await this.releaseContainer(state, remove);
    if (!won) {
      // Another writer ended the job first (e.g. the reconciler): record where the container went, readers re-read.
      if (state.containerId) await this.jobs.update(job.workspaceId, { id: job.id }, { containerState: released }).catch(() => 0);
      this.events.notify(job.id);
      return;
    }
    this.events.settled(Object.assign(new JobEntity(), job, terminal, { containerState: released, containerId: state.containerId ?? job.containerId }));
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
