import { boundedExec, DRIVER_EXEC_MAX_BYTES } from 'src/jobs/bounded-exec';
import { crashPoint } from 'src/jobs/crash-point';
import { retryWhileDatabaseDown, unlessConnectionLost } from 'src/common/database-connection';
import { Inject, Injectable } from '@nestjs/common';
import { InstallationService } from 'src/database/installation.service';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobArtifactCollector } from 'src/jobs/job-artifacts';
import { containerSpecFor } from 'src/jobs/job-container';
import { JobEvents } from 'src/jobs/job-events';
import { JobReason, JobSpec, StepResult } from 'src/jobs/job-model';
import { abortedWait, failureFor, RunState, settledWithin } from 'src/jobs/job-run';
import { JobSampler } from 'src/jobs/job-sampler';
import { DrivenJobIo, JobStepDriver, JobStepDrivers } from 'src/jobs/job-step-driver';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { SecretsService } from 'src/secrets/secrets.service';

/**
 * Runs a claimed job's container: create it (hardened), run each step as an exec (or the one step as
 * its main process), let a step driver resolve steps, collect artifacts. Records step progress; the
 * terminal state is JobFinisher's.
 */
@Injectable()
export class JobExecutor {
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly events: JobEvents,
    private readonly engine: EngineHealth,
    private readonly installation: InstallationService,
    private readonly drivers: JobStepDrivers,
    private readonly artifacts: JobArtifactCollector,
    private readonly sampler: JobSampler,
    private readonly secrets: SecretsService,
  ) {}

  /** Runs the container until its steps end or the run is aborted (which kills the container). */
  async run(state: RunState, spec: JobSpec, deadline: number): Promise<void> {
    state.controller.signal.addEventListener('abort', () => {
      // Stop everything in the container at once; the step's exec then returns.
      if (state.containerId) this.runtime.kill(state.containerId).catch(() => undefined);
    });
    if (spec.secrets || spec.internal?.mask_secrets?.length) {
      // Opened only now, for the container's environment; from here on the job's output is masked.
      const resolved = await this.secrets.resolve(state.job.workspaceId, spec.secrets, spec.internal?.mask_secrets);
      state.writer.mask(resolved.masker);
      state.secretEnv = resolved.env;
    }
    return this.runContainer(state, spec, deadline);
  }

  /** How a run that `error` stopped ends (see failureFor in job-run.ts). */
  failureFor(error: unknown): { reason: JobReason; message: string } {
    return failureFor(error, this.engine);
  }

  private async runContainer(state: RunState, spec: JobSpec, deadline: number): Promise<void> {
    // One step and nothing to collect: the step is the container's main process (no keep-alive, no
    // exec round trips), which keeps a trivial job close to the cost of a bare `docker run`.
    const driverName = spec.internal?.step_driver;
    if (spec.steps.length === 1 && spec.artifacts.length === 0 && !driverName) return this.runAsMainProcess(state, spec, deadline);
    const { job } = state;
    const installationId = await this.installation.installationId();
    state.containerId = await this.runtime.createContainer(containerSpecFor(job, installationId, deadline, state.secretEnv));
    await this.jobs.update(job.workspaceId, { id: job.id, status: 'running' }, { containerId: state.containerId });
    if (state.controller.signal.aborted) return;
    await this.runtime.startContainer(state.containerId);
    crashPoint('job_container_started');
    if (driverName) {
      const driver = this.drivers.get(driverName);
      if (!driver) throw new Error(`no step driver named ${driverName} is registered`);
      await this.runDrivenSteps(state, driver, deadline);
      if (spec.artifacts.length && !state.controller.signal.aborted) await this.artifacts.collectArtifacts(state, spec.artifacts);
      await this.sampler.sample(state);
      return;
    }
    for (const [index, step] of spec.steps.entries()) {
      const result = state.steps[index]!;
      if (state.controller.signal.aborted) break;
      await this.runStep(state, index, step, deadline);
      if (result.status !== 'succeeded' && !(result.status === 'failed' && result.continue_on_error)) break;
    }
    for (const s of state.steps) if (s.status === 'pending') s.status = 'skipped';
    if (spec.artifacts.length && !state.controller.signal.aborted) await this.artifacts.collectArtifacts(state, spec.artifacts);
    await this.sampler.sample(state);
  }

  /** Steps resolved one by one by a driver, which also decides which steps run after a failure. */
  private async runDrivenSteps(state: RunState, driver: JobStepDriver, deadline: number): Promise<void> {
    const handle = { id: state.job.id, workspaceId: state.job.workspaceId };
    const io = this.driverIo(state);
    let failed = false;
    for (const [index, result] of state.steps.entries()) {
      if (state.controller.signal.aborted) break;
      // The driver keeps its state in the database: a lost connection is waited out (the step is not
      // the workflow's failure), until the database is back or the job is stopped.
      const step = await retryWhileDatabaseDown(() => driver.before(handle, index, failed, io), { signal: state.controller.signal });
      if (!step) {
        result.status = 'skipped';
        continue;
      }
      if (step.name) result.name = step.name;
      result.continue_on_error = step.continue_on_error ?? false;
      await this.runStep(state, index, step, deadline);
      // Timed out or cancelled: the container is being killed, nothing is left to read.
      if (state.controller.signal.aborted) break;
      const problem = await retryWhileDatabaseDown(() => driver.after(handle, index, result, io), { signal: state.controller.signal }).catch(
        (error: unknown) => `could not read the step's files: ${String(error)}`,
      );
      if (problem) {
        state.writer.system(`step ${index + 1}: ${problem}`);
        if (result.status === 'succeeded') result.status = 'failed';
        await this.persistSteps(state);
      }
      if (result.status !== 'succeeded' && !(result.status === 'failed' && result.continue_on_error)) failed = true;
    }
    for (const s of state.steps) if (s.status === 'pending') s.status = 'skipped';
    if (!state.controller.signal.aborted) {
      const problem = await retryWhileDatabaseDown(() => driver.finish(handle, state.steps, io), { signal: state.controller.signal }).catch(
        (error: unknown) => void state.writer.system(`step driver: ${String(error)}`),
      );
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
      collect: (patterns) => this.artifacts.collectFiles(state, patterns),
      putArchive: (directory, tar) => this.artifacts.extractInto(state, directory, tar),
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
      env: { ...spec.env, ...state.secretEnv, ...step.env },
      workingDir: step.cwd ?? '/workspace',
    });
    const containerId = state.containerId;
    // The claim already stored the container's name (which is how recovery finds it), so the id and
    // the step's start are written while the container starts rather than before.
    const started = Date.now();
    Object.assign(result, { status: 'running', started_at: new Date(started).toISOString() });
    const persisted = this.jobs
      .update(job.workspaceId, { id: job.id, status: 'running' }, { containerId, steps: state.steps })
      // Progress only (the container's labels are how recovery finds it): a lost connection does not fail the job.
      .then(() => this.events.progress(job.id), unlessConnectionLost(undefined));
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
      crashPoint('job_container_started');
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

  private async persistSteps(state: RunState): Promise<void> {
    // Progress only: the terminal write stores the steps again, so a lost connection does not fail the job.
    const written = await this.jobs
      .update(state.job.workspaceId, { id: state.job.id, status: 'running' }, { steps: state.steps })
      .then(() => true, unlessConnectionLost(false));
    if (written) this.events.progress(state.job.id);
  }

}
