import { secretReferences } from 'src/workflows/engine/secret-references';
import { isConnectionError, retryWhileDatabaseDown } from 'src/common/database-connection';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { arch, hostname } from 'node:os';
import { DataSource, EntityManager } from 'typeorm';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InstallationService } from 'src/database/installation.service';
import type { JobInternalSpec, JobStatus, JobStepSpec } from 'src/jobs/job-model';
import { DEFAULT_RESOURCES } from 'src/domain/container-spec';
import { TERMINAL_STATUSES } from 'src/jobs/job-model';
import { JobReads } from 'src/jobs/job-reads.service';
import { JobStepDrivers } from 'src/jobs/job-step-driver';
import { JobsService } from 'src/jobs/jobs.service';
import { PoliciesService } from 'src/policies/policies.service';
import { SANDBOX_USER } from 'src/runtime/container-runtime.port';
import { RunnerLiveness } from 'src/jobs/runner-liveness';
import { evaluateTemplate, interpolate, toBoolean } from 'src/workflows/engine/expressions';
import type { InstanceState, JobSpec, JsonValue, RunState } from 'src/workflows/engine/model';
import { pinImage } from 'src/services-runtime/image-pins';
import type { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import { WorkflowRunEvents } from 'src/workflows/workflow-run-events';
import { WorkflowInstanceStore } from 'src/workflows/runner/workflow-instance-store';
import { applyDecision, cancelRun, decide, InstanceResult, needsContext, recordInstanceResult } from 'src/workflows/runner/engine';
import { runnerContext } from 'src/workflows/runner/run-context';
import { stepDisplayName } from 'src/workflows/runner/step-commands';
import { WORKFLOW_STEP_DRIVER, WorkflowStepDriver } from 'src/workflows/runner/workflow-step-driver';
import { jobContainerOptions, RunOptionsError } from 'src/services-runtime/service-options';
import { EvaluatedService, ServiceAdmission, ServiceNotReadyError, ServiceContainers, ServiceSetup } from 'src/services-runtime/service-containers';
import type { InstanceAttempt, StepContextState } from 'src/workflows/workflow-model';

const MiB = 1024 * 1024;
/** Bounds a wait when nothing local can wake the loop (a cancel requested through another server). */
const MAX_IDLE_MS = 2_000;
const ORPHAN_SCAN_MS = 30_000;

interface Attempt {
  key: string;
  abort: AbortController;
  jobId?: string;
  done: Promise<void>;
}

interface RunLoop {
  runId: string;
  workspaceId: string;
  createdBy: string;
  /** The run's agent session: its instance jobs are linked to it. */
  sessionId: string | null;
  state: RunState;
  /** The run's image pins (WorkflowRunEntity.imageDigests), kept in step with the row. */
  imagePins: Record<string, string>;
  results: Array<{ key: string; result: InstanceResult }>;
  attempts: Map<string, Attempt>;
  wake: () => void;
  wakeup: Promise<void>;
}

export const runLabels = (installationId: string, runId: string, workspaceId: string): Record<string, string> => ({
  'orcaops.managed': 'true',
  'orcaops.install': installationId,
  'orcaops.workspace_id': workspaceId,
  'orcaops.workflow_run': runId,
});

/**
 * Drives workflow runs. One loop per run: ask the engine's pure decide() what to do, persist the
 * resulting transitions, then act (start an instance as an OrcaOps job with its services, stop one),
 * and sleep until an instance ends, a cancel arrives or the next deadline. Finished instances are
 * never re-run; a run whose runner died is picked up by any live runner (boot and periodic scan).
 * A system component: it reads runs of every workspace (the documented exemption from scoped
 * repositories) and acts on each within its workspace.
 */
@Injectable()
export class WorkflowRunnerService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('WorkflowRunner');
  readonly runnerId = `wf:${hostname()}:${process.pid}:${randomUUID()}`;
  private readonly liveness: RunnerLiveness;
  private readonly loops = new Map<string, RunLoop>();
  private stopping = false;
  private scanTimer?: NodeJS.Timeout;

  // Ten: the run loop decides (pure engine) and acts through one unit each (store, jobs, steps, services, policy, events).
  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly store: WorkflowInstanceStore,
    // The instance jobs' rows, read when resuming a run (which job an interrupted attempt submitted, how it ended).
    private readonly jobs: JobsService,
    private readonly drivers: JobStepDrivers,
    private readonly stepDriver: WorkflowStepDriver,
    private readonly services: ServiceContainers,
    private readonly installation: InstallationService,
    private readonly events: WorkflowRunEvents,
    private readonly policies: PoliciesService,
    private readonly jobReads: JobReads,
  ) {
    this.liveness = new RunnerLiveness(dataSource);
  }

  onModuleInit(): void {
    this.drivers.register(WORKFLOW_STEP_DRIVER, this.stepDriver);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.liveness.hold(this.runnerId);
    await this.resumeOrphans().catch((err) => this.logger.warn({ msg: 'resume scan failed', err: String(err) }));
    this.scanTimer = setInterval(() => void this.resumeOrphans().catch(() => undefined), ORPHAN_SCAN_MS);
    this.scanTimer.unref();
  }

  /** Shutdown leaves runs as they are: the next runner resumes them (their jobs end as interrupted). */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    clearInterval(this.scanTimer);
    for (const loop of this.loops.values()) loop.wake();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.liveness.release();
  }

  /** Starts driving a just-created run in this process. */
  start(run: WorkflowRunEntity): void {
    void this.drive(run.id, run.workspaceId);
  }

  /** A cancel was recorded on the run: wake its loop if it runs here. */
  wake(runId: string): void {
    this.loops.get(runId)?.wake();
  }

  /** Resolves when the run's loop in this process has ended (tests, shutdown). */
  isDriving(runId: string): boolean {
    return this.loops.has(runId);
  }

  // ─── Resume ─────────────────────────────────────────────────────────────────────────────────────

  private async resumeOrphans(): Promise<void> {
    if (this.stopping) return;
    const runs = await this.store.runningRuns();
    for (const run of runs) {
      if (this.loops.has(run.id) || run.runnerId === this.runnerId) continue;
      if (run.runnerId && !(await this.liveness.isGone(run.runnerId))) continue;
      if (!(await this.store.claimRun({ runId: run.id, workspaceId: run.workspaceId }, run.runnerId, this.runnerId))) continue;
      this.logger.warn({ msg: 'resuming workflow run left by a stopped runner', runId: run.id, previousRunner: run.runnerId });
      void this.drive(run.id, run.workspaceId, true);
    }
  }

  // ─── The loop ───────────────────────────────────────────────────────────────────────────────────

  private async drive(runId: string, workspaceId: string, resumed = false): Promise<void> {
    let redrive = false;
    try {
      const { run, instances } = await this.store.load({ runId, workspaceId });
      const loop: RunLoop = { runId, workspaceId, createdBy: run.createdBy, sessionId: run.sessionId, state: toRunState(run, instances), imagePins: { ...run.imageDigests }, results: [], attempts: new Map(), wake: () => undefined, wakeup: Promise.resolve() };
      this.resetWakeup(loop);
      this.loops.set(runId, loop);
      if (resumed) await this.recoverInterrupted(loop, instances);
      await this.loopUntilComplete(loop);
    } catch (error) {
      this.logger.error({ msg: 'workflow run loop crashed', runId, err: String((error as Error)?.stack ?? error) });
      if (isConnectionError(error)) redrive = true;
    } finally {
      this.loops.delete(runId);
    }
    // A database outage broke the loop, not the run: once the database answers, this runner resumes it
    // from what was persisted (as a restarted runner would), so it never stays `running` unattended.
    if (redrive && !this.stopping) await this.redriveWhenDatabaseIsBack(runId, workspaceId);
  }

  private async redriveWhenDatabaseIsBack(runId: string, workspaceId: string): Promise<void> {
    await retryWhileDatabaseDown(() => this.store.load({ runId, workspaceId }), { maxDelayMs: 2_000 }).catch(() => undefined);
    if (this.stopping || this.loops.has(runId)) return;
    this.logger.warn({ msg: 'resuming a workflow run after a database outage', runId });
    void this.drive(runId, workspaceId, true);
  }

  private resetWakeup(loop: RunLoop): void {
    loop.wakeup = new Promise<void>((resolve) => (loop.wake = resolve));
  }

  private async loopUntilComplete(loop: RunLoop): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      this.resetWakeup(loop);
      for (const { key, result } of loop.results.splice(0)) {
        await this.commit(loop, recordInstanceResult(loop.state, key, result, Date.now()));
      }
      if (!loop.state.cancelled && (await this.cancelRequested(loop))) await this.commit(loop, cancelRun(loop.state));
      const decision = decide(loop.state, Date.now());
      // Persist the transitions first; only then act on them (design §3.13).
      await this.commit(loop, applyDecision(loop.state, decision));
      for (const c of decision.cancelRunning) this.stopAttempt(loop, c.key);
      for (const s of decision.startInstances) this.launch(loop, s.key, s.attempt, s.timeoutMs);
      if (decision.complete) {
        await Promise.all([...loop.attempts.values()].map((a) => a.done));
        await this.finishRun(loop, decision.complete.conclusion);
        return;
      }
      const acted = decision.startInstances.length + decision.cancelRunning.length + decision.cancelQueued.length + decision.expandJobs.length + decision.skipJobs.length + decision.failJobs.length;
      if (acted > 0 || loop.results.length > 0) continue;
      await this.idle(loop);
    }
  }

  /** Until an instance ends, a cancel arrives, or the next deadline (timeouts, retries). */
  private async idle(loop: RunLoop): Promise<void> {
    const now = Date.now();
    const deadlines: number[] = [now + MAX_IDLE_MS];
    const wf = loop.state.workflow;
    if (wf.timeoutMs !== undefined) deadlines.push(loop.state.startedAt + wf.timeoutMs);
    for (const i of Object.values(loop.state.instances)) if (i.status === 'waiting' && i.retryAt) deadlines.push(i.retryAt);
    const until = Math.max(now + 10, Math.min(...deadlines));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([loop.wakeup, new Promise((resolve) => (timer = setTimeout(resolve, until - now)))]);
    clearTimeout(timer);
  }

  private async cancelRequested(loop: RunLoop): Promise<boolean> {
    return this.store.cancelRequested(loop);
  }

  private async finishRun(loop: RunLoop, conclusion: RunState['conclusion']): Promise<void> {
    await this.removeLeftovers(loop.runId, loop.workspaceId);
    await this.store.finishRun(loop, conclusion ?? 'success');
    this.logger.log({ msg: 'workflow run completed', runId: loop.runId, conclusion });
    this.events.notify(loop.runId);
  }

  /** Label-based cleanup: every service, pod container and network of the run. */
  async removeLeftovers(runId: string, workspaceId: string): Promise<void> {
    const install = await this.installation.installationId();
    await this.services.removeLabelled({ ...runLabels(install, runId, workspaceId), 'orcaops.workflow_run': runId }).catch((err) => {
      this.logger.warn({ msg: 'workflow cleanup failed', runId, err: String(err) });
    });
  }

  // ─── Persistence (journal) ──────────────────────────────────────────────────────────────────────

  /** Writes every instance and job state that changed from the loop's state to `next`, then adopts it. */
  private async commit(loop: RunLoop, next: RunState): Promise<void> {
    const prev = loop.state;
    const insert: InstanceState[] = [];
    const update: InstanceState[] = [];
    for (const [key, inst] of Object.entries(next.instances)) {
      const before = prev.instances[key];
      if (!before) insert.push(inst);
      else if (JSON.stringify(before) !== JSON.stringify(inst)) update.push(inst);
    }
    const jobsChanged = JSON.stringify(prev.jobs) !== JSON.stringify(next.jobs) || prev.cancelled !== next.cancelled;
    await this.store.saveTransitions(loop, { insert, update, ...(jobsChanged ? { jobStates: { jobs: next.jobs, cancelled: next.cancelled ?? null } } : {}) });
    loop.state = next;
    this.events.notify(loop.runId);
  }

  /** After every write of an attempt: watchers of the run re-read it. */
  private notify(loop: RunLoop): void {
    this.events.notify(loop.runId);
  }

  // ─── One instance attempt ───────────────────────────────────────────────────────────────────────

  private launch(loop: RunLoop, key: string, attempt: number, timeoutMs: number): void {
    const abort = new AbortController();
    const handle: Attempt = { key, abort, done: Promise.resolve() };
    handle.done = this.runAttempt(loop, handle, attempt, timeoutMs)
      .catch((error) => {
        this.logger.error({ msg: 'instance attempt crashed', runId: loop.runId, key, err: String((error as Error)?.stack ?? error) });
        return { outcome: 'failure', reason: 'infra_error', outputs: {}, continueOnError: false } satisfies InstanceResult;
      })
      .then((result) => {
        loop.attempts.delete(key);
        loop.results.push({ key, result });
        loop.wake();
      });
    loop.attempts.set(key, handle);
  }

  private stopAttempt(loop: RunLoop, key: string): void {
    const attempt = loop.attempts.get(key);
    if (!attempt) return;
    attempt.abort.abort();
    if (attempt.jobId) void this.cancelJob(loop, attempt.jobId);
  }

  private async cancelJob(loop: RunLoop, jobId: string): Promise<void> {
    await this.jobs.cancel(runnerContext({ id: loop.runId, workspaceId: loop.workspaceId, createdBy: loop.createdBy }), jobId).catch(() => undefined);
  }

  private async runAttempt(loop: RunLoop, handle: Attempt, attempt: number, timeoutMs: number): Promise<InstanceResult> {
    const inst = loop.state.instances[handle.key]!;
    const job = loop.state.workflow.jobs.find((j) => j.id === inst.instance.jobId)!;
    const startedAt = Date.now();
    const record: InstanceAttempt = { attempt, job_id: null, status: 'running', reason: null, message: null, started_at: new Date(startedAt).toISOString(), finished_at: null };
    const notes: string[] = [];
    const install = await this.installation.installationId();
    const labels = { ...runLabels(install, loop.runId, loop.workspaceId), 'orcaops.workflow_instance': inst.instance.hash };
    const namePrefix = `orcaops-${loop.runId.slice(0, 8)}-${safeName(job.id)}-${inst.instance.hash}-a${attempt}`;
    const contexts = this.instanceContexts(loop, job, inst, attempt);
    const ctx = { contexts };
    const continueOnError = evalBool(job.continueOnError, ctx, false);
    let setup: ServiceSetup | undefined;
    let result: InstanceResult = { outcome: 'failure', reason: 'infra_error', outputs: {}, continueOnError };
    let message: string | null = null;
    await this.store.startAttempt(loop, handle.key, record);
    this.notify(loop);
    try {
      const jobCtx = runnerContext({ id: loop.runId, workspaceId: loop.workspaceId, createdBy: loop.createdBy });
      // Options first: a flag that cannot be applied fails the instance before anything starts.
      const containerOptions = jobContainerOptions(job.container?.options === undefined ? '' : interpolate(job.container.options, ctx), DEFAULT_RESOURCES.memory_mb);
      notes.push(...containerOptions.notes);
      if (job.container?.hasCredentials) notes.push("container credentials in the workflow file are not used: pulls use the workspace's registry credentials (orcaops registry login)");
      const services = job.services.map((s) => evaluateService(s, ctx));
      const containerMode = job.container !== undefined || job.image !== undefined;
      const admit = (request: ServiceAdmission): Promise<void> => this.admitService(jobCtx, loop.workspaceId, request);
      const jobVolumes = {
        entries: (job.container?.volumes ?? []).map((v) => interpolate(v, ctx)),
        memoryBytes: (containerOptions.resources.memory_mb ?? DEFAULT_RESOURCES.memory_mb) * MiB,
        user: containerOptions.internal.user ?? SANDBOX_USER,
      };
      // Durations a workflow file sets are clamped by the policy's max_timeout_seconds (docs/workflows.md).
      const policyMaxSeconds = await this.policies.maxTimeoutSeconds(jobCtx, loop.workspaceId);
      const reservation = {
        ctx: jobCtx,
        // The instance row holds the reservation (quota-usage.ts counts running instances' rows).
        write: (counts: { containers: number; memoryMb: number }, manager?: EntityManager) => this.store.reserveServices(loop.workspaceId, loop.runId, handle.key, counts, manager),
      };
      setup = await this.services.setUp({ workspaceId: loop.workspaceId, namePrefix, jobId: job.id, containerMode, services, jobExtraHosts: containerOptions.extraHosts, jobVolumes, labels, signal: handle.abort.signal, note: (n) => notes.push(n), admit, reservation, maxReadinessMs: policyMaxSeconds * 1000, imagePins: loop.imagePins });
      await this.pinImages(loop, setup.imageDigests);
      if (handle.abort.signal.aborted) return { ...result, outcome: 'cancelled', reason: undefined };
      contexts.job = { status: 'success', services: setup.context, ...(job.container ? { container: { network: setup.network ?? '' } } : {}) };
      const stepState: StepContextState = { steps: [], env: {}, path: [], summary: '', notes, contexts, containerJob: containerMode };
      await this.store.initStepState(loop, handle.key, stepState);
      this.notify(loop);
      const remainingSeconds = Math.ceil((timeoutMs - (Date.now() - startedAt)) / 1000);
      // In pod mode the job's --add-host entries went onto the pod (a shared namespace has one hosts file).
      const ownHosts = setup.attach && 'container' in setup.attach ? {} : containerOptions.extraHosts;
      const volumes = setup.jobVolumes.map((v) => ({ name: v.name, target: v.target, read_only: v.readOnly }));
      const internal: JobInternalSpec = {
        step_driver: WORKFLOW_STEP_DRIVER,
        labels,
        ...containerOptions.internal,
        ...(setup.attach ? { attach: setup.attach } : {}),
        ...(Object.keys(ownHosts).length ? { extra_hosts: ownHosts } : {}),
        ...(volumes.length ? { volumes } : {}),
        ...(secretReferences(job).length ? { mask_secrets: secretReferences(job) } : {}),
      };
      const image = inst.instance.image ?? loop.state.context.defaultImage;
      const submitted = await this.jobs.submit(
        jobCtx,
        {
          // Pulled (and its digest recorded) by the job like any job's image; pinned once the run resolved it.
          image: pinImage(image, loop.imagePins),
          steps: job.steps.map((s): JobStepSpec => ({ name: stepDisplayName(s), command: ':' })),
          env: baseEnv(loop, job, inst, attempt, contexts),
          // The policy maximum (30 minutes unless the organisation allows up to 24 h) clamps timeout-minutes (default 360).
          timeout_seconds: Math.max(1, Math.min(policyMaxSeconds, remainingSeconds)),
          // --cpus/--memory/--pids-limit: admitted by the policy's maxima and the quotas like any job's.
          ...(Object.keys(containerOptions.resources).length ? { resources: containerOptions.resources } : {}),
          cleanup_policy: 'always_remove',
          tags: ['workflow'],
          triggered_by: 'workflow',
          intent: `workflow ${loop.state.workflow.name}: ${inst.instance.displayName}`.slice(0, 500),
          metadata: { workflow_run_id: loop.runId, workflow_instance: inst.instance.key.slice(0, 200), attempt },
          idempotency_key: `wf-${loop.runId}-${inst.instance.hash}-${attempt}`,
        },
        undefined,
        { ...internal, ...(uploads(job) ? { collects_artifacts: true } : {}), ...(loop.sessionId ? { inherited_session_id: loop.sessionId } : {}) },
      );
      handle.jobId = submitted.job.id;
      record.job_id = submitted.job.id;
      await this.store.recordJob(loop, handle.key, submitted.job.id, record);
      this.notify(loop);
      if (handle.abort.signal.aborted) await this.cancelJob(loop, submitted.job.id);
      const final = await this.awaitJob(jobCtx, submitted.job.id);
      this.stepDriver.forget(submitted.job.id);
      if (final.imageDigest) await this.pinImages(loop, { [image]: final.imageDigest });
      result = await this.resultOf(loop, handle.key, final, continueOnError);
      if (final.status !== 'succeeded') message = final.message ?? null;
    } catch (error) {
      // Refused at admission (the same policy and quota checks as any job): a failure of the instance, not
      // of the infrastructure, so no infra retry; the message carries every violation / the quota.
      const refusal = error instanceof OrcaOpsError && (error.code === 'policy_denied' || error.code === 'quota_exceeded') ? error : undefined;
      const misconfigured = error instanceof RunOptionsError;
      if (error instanceof ServiceNotReadyError || misconfigured) message = error.message;
      else if (refusal) message = `${refusal.code}: ${refusal.message}${admissionDetails(refusal)}`;
      else {
        message = `could not start the instance: ${(error as Error).message}`;
        this.logger.warn({ msg: 'instance failed to start', runId: loop.runId, key: handle.key, err: String(error) });
      }
      const reason = refusal ? (refusal.code as 'policy_denied' | 'quota_exceeded') : 'infra_error';
      // Options that cannot be applied are the workflow's mistake, not the infrastructure's: no infra retry.
      const failReason = handle.abort.signal.aborted || misconfigured ? undefined : reason;
      result = { outcome: handle.abort.signal.aborted ? 'cancelled' : 'failure', ...(failReason ? { reason: failReason } : {}), outputs: {}, continueOnError };
    } finally {
      if (setup) record.services_cpu_seconds = await this.services.tearDown(setup);
      await this.services.removeLabelled({ 'orcaops.workflow_run': loop.runId, 'orcaops.workflow_instance': inst.instance.hash }).catch(() => undefined);
    }
    record.status = result.outcome === 'success' ? 'succeeded' : result.outcome === 'cancelled' ? 'cancelled' : 'failed';
    record.reason = result.reason ?? null;
    record.message = message;
    record.finished_at = new Date().toISOString();
    await this.store.finishAttempt(loop, handle.key, message, record);
    this.notify(loop);
    return result;
  }

  /** A service goes through the same policy as a job (image, command, resources); it cannot wait for approval. */
  private async admitService(ctx: ReturnType<typeof runnerContext>, workspaceId: string, request: ServiceAdmission): Promise<void> {
    await this.policies.admit(ctx, workspaceId, {
      kind: 'workflow_service',
      image: request.image,
      commands: request.command ? [{ field: `services.${request.serviceId}.command`, command: request.command }] : [],
      network: 'none',
      resources: { cpu: request.cpus, memory_mb: request.memoryMb, pids: request.pids, disk_mb: 0 },
    });
  }

  /** New image pins of the run (first digest wins), on the row and in the loop. */
  private async pinImages(loop: RunLoop, digests: Record<string, string>): Promise<void> {
    const fresh = Object.fromEntries(Object.entries(digests).filter(([image]) => !loop.imagePins[image]));
    if (!Object.keys(fresh).length) return;
    Object.assign(loop.imagePins, fresh);
    await this.store.recordImageDigests(loop, fresh);
  }

  /** Until the job is terminal; JobsService.wait wakes on the job's events (no fixed sleeps). */
  private async awaitJob(
    ctx: ReturnType<typeof runnerContext>,
    jobId: string,
  ): Promise<{ status: string; reason: string | null; message: string | null; imageDigest?: string | null }> {
    for (;;) {
      const job = await this.jobs.wait(ctx, jobId, 60_000);
      if (TERMINAL_STATUSES.has(job.status as JobStatus)) return { status: job.status, reason: job.reason, message: job.message ?? null, imageDigest: job.image_digest };
      if (this.stopping) return { status: 'failed', reason: 'interrupted', message: 'the server shut down' };
    }
  }

  private async resultOf(loop: RunLoop, key: string, job: { status: string; reason: string | null }, continueOnError: boolean): Promise<InstanceResult> {
    const outputs = await this.store.jobOutputs(loop, key);
    if (job.status === 'succeeded') return { outcome: 'success', outputs, continueOnError };
    if (job.status === 'cancelled') return { outcome: 'cancelled', outputs, continueOnError };
    const reason = job.status === 'timed_out' || job.reason === 'timeout' ? 'timed_out' : job.reason === 'interrupted' ? 'interrupted' : job.reason === 'step_failed' || job.reason === 'completed' || job.reason === 'artifact_error' ? undefined : 'infra_error';
    return { outcome: 'failure', ...(reason ? { reason } : {}), outputs, continueOnError };
  }

  /** Contexts fixed for the attempt (design §3.3.1); `steps` and GITHUB_ENV additions come later. */
  private instanceContexts(loop: RunLoop, job: JobSpec, inst: InstanceState, attempt: number): Record<string, JsonValue> {
    const state = loop.state;
    const js = state.jobs[job.id]!;
    const base: Record<string, JsonValue> = {
      github: { ...state.context.github, job: job.id, run_id: loop.runId, run_attempt: String(attempt), workspace: '/workspace', action: '', event_name: 'workflow_dispatch' },
      inputs: state.context.inputs,
      vars: state.context.vars,
      matrix: inst.instance.matrix,
      needs: needsContext(state, job),
      strategy: { 'fail-fast': js.failFast, 'job-index': inst.instance.index, 'job-total': js.instanceKeys.length, 'max-parallel': js.maxParallel ?? js.instanceKeys.length },
      runner: { os: 'Linux', arch: arch() === 'arm64' ? 'ARM64' : 'X64', temp: '/tmp', name: 'orcaops', environment: 'self-hosted' },
      job: { status: 'success', services: {} },
    };
    const env: Record<string, string> = { ...state.context.env };
    for (const [name, value] of Object.entries(job.env)) {
      try {
        env[name] = interpolate(value, { contexts: { ...base, env } });
      } catch {
        env[name] = value;
      }
    }
    return { ...base, env };
  }

  // ─── Resume of instances a dead runner left running ─────────────────────────────────────────────

  private async recoverInterrupted(loop: RunLoop, rows: WorkflowInstanceEntity[]): Promise<void> {
    const ctx = runnerContext({ id: loop.runId, workspaceId: loop.workspaceId, createdBy: loop.createdBy });
    for (const row of rows.filter((r) => r.status === 'running')) {
      const inst = loop.state.instances[row.instanceKey];
      if (!inst) continue;
      const jobId = row.jobId ?? (await this.jobByIdempotencyKey(loop, `wf-${loop.runId}-${row.hash}-${row.attempt}`));
      let result: InstanceResult = { outcome: 'failure', reason: 'interrupted', outputs: {}, continueOnError: false };
      const job = jobId ? await this.jobReads.find(loop.workspaceId, jobId) : null;
      if (job && TERMINAL_STATUSES.has(job.status) && job.reason !== 'interrupted') {
        const wfJob = loop.state.workflow.jobs.find((j) => j.id === row.workflowJob)!;
        const coe = evalBool(wfJob.continueOnError, { contexts: { matrix: row.matrix } }, false);
        result = await this.resultOf(loop, row.instanceKey, { status: job.status, reason: job.reason }, coe);
      } else if (job && !TERMINAL_STATUSES.has(job.status)) {
        // Its step boundary is unknown: stop it and let the retry policy decide (design §3.13 step 3).
        await this.jobs.cancel(ctx, job.id).catch(() => undefined);
      }
      await this.services.removeLabelled({ 'orcaops.workflow_run': loop.runId, 'orcaops.workflow_instance': row.hash }).catch(() => undefined);
      const message = result.reason === 'interrupted' ? 'the runner driving this instance stopped; it was interrupted' : null;
      const patch = { status: result.outcome === 'success' ? 'succeeded' : result.outcome === 'cancelled' ? 'cancelled' : 'failed', reason: result.reason ?? null, message, finished_at: new Date().toISOString() } as const;
      // The dead runner never closed the attempt's record: close it with what happened.
      await this.store.closeInterruptedAttempt(loop, row.instanceKey, message, patch);
      this.notify(loop);
      loop.results.push({ key: row.instanceKey, result });
    }
  }

  private jobByIdempotencyKey(loop: RunLoop, key: string): Promise<string | null> {
    return this.jobReads.idByIdempotencyKey(loop.workspaceId, key);
  }
}

// ─── helpers ────────────────────────────────────────────────────────────────────────────────────

export function toRunState(run: WorkflowRunEntity, rows: WorkflowInstanceEntity[]): RunState {
  const instances: RunState['instances'] = {};
  const ms = (d: Date | null): number | undefined => (d ? d.getTime() : undefined);
  for (const r of rows) {
    instances[r.instanceKey] = {
      instance: { key: r.instanceKey, hash: r.hash, jobId: r.workflowJob, index: r.matrixIndex, displayName: r.displayName, matrix: r.matrix, ...(r.image ? { image: r.image } : {}) },
      status: r.status,
      ...(r.outcome ? { outcome: r.outcome } : {}),
      ...(r.conclusion ? { conclusion: r.conclusion } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      outputs: r.outputs ?? {},
      attempt: r.attempt,
      ...(r.startedAt ? { startedAt: ms(r.startedAt) } : {}),
      ...(r.finishedAt ? { finishedAt: ms(r.finishedAt) } : {}),
      ...(r.retryAt ? { retryAt: ms(r.retryAt) } : {}),
      ...(r.cancelRequested ? { cancelRequested: r.cancelRequested } : {}),
      ...(r.stopSent ? { stopSent: true } : {}),
      ...(r.queuedAt ? { queuedAt: ms(r.queuedAt) } : {}),
    };
  }
  return {
    workflow: run.spec,
    context: run.context,
    jobs: run.jobStates,
    instances,
    maxParallel: run.maxParallel,
    startedAt: run.startedAt.getTime(),
    ...(run.cancelledBy ? { cancelled: run.cancelledBy } : {}),
  };
}

/** Whether the job uploads artifacts (native `artifacts:` or upload-artifact steps, collected by the step driver). */
function uploads(job: JobSpec): boolean {
  return job.artifacts.length > 0 || job.steps.some((s) => s.action.kind === 'upload-artifact');
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40) || 'job';
}

function evalBool(value: boolean | string, ctx: { contexts: Record<string, JsonValue> }, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  try {
    return toBoolean(evaluateTemplate(value, ctx));
  } catch {
    return fallback;
  }
}

function evaluateService(service: JobSpec['services'][number], ctx: { contexts: Record<string, JsonValue> }): EvaluatedService {
  const text = (v: string): string => interpolate(v, ctx);
  return {
    id: service.id,
    image: text(service.image),
    env: Object.fromEntries(Object.entries(service.env).map(([k, v]) => [k, text(v)])),
    ports: service.ports.map(text),
    volumes: service.volumes.map(text),
    ...(service.options !== undefined ? { options: text(service.options) } : {}),
    ...(service.healthcheck !== undefined ? { healthcheck: service.healthcheck } : {}),
    ...(service.command !== undefined ? { command: service.command } : {}),
    ...(service.entrypoint !== undefined ? { entrypoint: service.entrypoint } : {}),
    ...(service.hasCredentials ? { hasCredentials: true } : {}),
    ...(service.readinessTimeoutMs !== undefined ? { readinessTimeoutMs: service.readinessTimeoutMs } : {}),
  };
}

/** The standard step environment (design §2.4); GITHUB_* file paths are added per step. */
function baseEnv(loop: RunLoop, job: JobSpec, inst: InstanceState, attempt: number, contexts: Record<string, JsonValue>): Record<string, string> {
  const env = contexts.env as Record<string, string>;
  const valid = Object.fromEntries(Object.entries(env).filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)));
  return {
    ...valid,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: '/workspace',
    GITHUB_RUN_ID: loop.runId,
    GITHUB_RUN_NUMBER: '1',
    GITHUB_RUN_ATTEMPT: String(attempt),
    GITHUB_JOB: job.id,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: arch() === 'arm64' ? 'ARM64' : 'X64',
    RUNNER_TEMP: '/tmp',
    ORCAOPS_RUN_ID: loop.runId,
    ORCAOPS_INSTANCE: inst.instance.key,
    ORCAOPS_MATRIX: JSON.stringify(inst.instance.matrix),
    ORCAOPS_ATTEMPT: String(attempt),
  };
}

/** The violations of a policy denial (or the quota's limit and use) as text for the instance's message. */
function admissionDetails(error: OrcaOpsError): string {
  const details = (error.details ?? {}) as { violations?: Array<{ message?: string }>; quota?: string; limit?: number; current?: number };
  if (details.violations?.length) return ` (${details.violations.map((v) => v.message ?? '').join('; ')})`;
  if (details.quota) return ` (${details.quota}: ${details.current ?? '?'} of ${details.limit ?? '?'})`;
  return '';
}
