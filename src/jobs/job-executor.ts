import { boundedExec, DRIVER_EXEC_MAX_BYTES } from 'src/jobs/bounded-exec';
import { crashPoint } from 'src/jobs/crash-point';
import { retryWhileDatabaseDown, unlessConnectionLost } from 'src/common/database-connection';
import { Inject, Injectable } from '@nestjs/common';
import { InstallationService } from 'src/database/installation.service';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobArtifactCollector } from 'src/jobs/job-artifacts';
import { containerSpecFor, runsAsMainProcess } from 'src/jobs/job-container';
import { JobEvents } from 'src/jobs/job-events';
import { exitStatus, JobReason, JobSpec, StepResult } from 'src/jobs/job-model';
import { abortedWait, Adoption, detached, failureFor, RunState, settledWithin } from 'src/jobs/job-run';
import { JobSampler } from 'src/jobs/job-sampler';
import { DrivenJobIo, JobStepDriver, JobStepDrivers } from 'src/jobs/job-step-driver';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { ImagePuller } from 'src/registries/image-puller.service';
import { EgressGateway } from 'src/egress/egress-gateway.service';
import { SecretsService } from 'src/secrets/secrets.service';
import { SecretMasker } from 'src/common/masking/secret-masker';

/**
 * Runs a claimed job's container: create it (hardened), run each step as an exec (or the one step as
 * its main process), let a step driver resolve steps, collect artifacts. Records step progress; the
 * terminal state is JobFinisher's.
 */
@Injectable()
export class JobExecutor {
  // Eleven: one step of a run touches each once (image pull and grant, egress, secrets, engine, drivers, artifacts, sampling).
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly events: JobEvents,
    private readonly engine: EngineHealth,
    private readonly installation: InstallationService,
    private readonly drivers: JobStepDrivers,
    private readonly artifacts: JobArtifactCollector,
    private readonly sampler: JobSampler,
    private readonly images: ImagePuller,
    private readonly egress: EgressGateway,
    private readonly secrets: SecretsService,
  ) {}

  /**
   * The pull phase, before the run: the image is checked (policy, this workspace's pull grant) and
   * pulled when needed, with progress lines in the job's log; its digest and the pull's start and end
   * go on the record. Returns when the pull ended (the run's timeout starts then), undefined when
   * nothing was pulled or the job was stopped meanwhile.
   */
  async prepareImage(state: RunState, spec: JobSpec): Promise<number | undefined> {
    const { job } = state;
    const signal = state.controller.signal;
    let resolved;
    try {
      resolved = await this.images.ensure(job.workspaceId, spec.image, {
        pullPolicy: spec.pull_policy,
        signal,
        onLine: (line) => state.writer.system(line),
        onPullStart: (startedAt) => {
          job.pullStartedAt = startedAt;
          void this.jobs
            .update(job.workspaceId, { id: job.id, status: 'running' }, { pullStartedAt: startedAt })
            .then(() => this.events.progress(job.id), unlessConnectionLost(undefined));
        },
      });
    } catch (error) {
      if (signal.aborted) return undefined;
      throw error;
    }
    state.image = resolved.reference;
    if (!resolved.digest && !resolved.pull) return undefined;
    const patch = { imageDigest: resolved.digest, ...(resolved.pull ? { pullStartedAt: resolved.pull.startedAt, pullFinishedAt: resolved.pull.finishedAt } : {}) };
    Object.assign(job, patch);
    await this.jobs.update(job.workspaceId, { id: job.id, status: 'running' }, patch);
    return resolved.pull?.finishedAt.getTime();
  }

  /** Runs the container until its steps end or the run is aborted (which kills the container). */
  async run(state: RunState, spec: JobSpec, deadline: number): Promise<void> {
    const engine = this.engine.info();
    state.engineVersion = engine ? `${engine.version} (API ${engine.apiVersion})`.slice(0, 64) : null;
    state.runtimeVersion = engine ? (engine.runtimeVersion ?? engine.runtime).slice(0, 64) : null;
    state.controller.signal.addEventListener('abort', () => {
      // Stop everything in the container at once; the step's exec then returns.
      if (state.containerId) this.runtime.kill(state.containerId).catch(() => undefined);
    });
    if (state.adoption) {
      // Re-attached after a restart: the container has its environment already; the job's output is
      // masked as before (a secret deleted meanwhile cannot be opened, so it is no longer masked).
      const names = [...Object.values(spec.secrets ?? {}), ...(spec.internal?.mask_secrets ?? [])];
      if (names.length) state.writer.mask(new SecretMasker((await this.secrets.open(state.job.workspaceId, names)).values()));
    } else if (spec.secrets || spec.internal?.mask_secrets?.length) {
      // Opened only now, for the container's environment; from here on the job's output is masked.
      const resolved = await this.secrets.resolve(state.job.workspaceId, spec.secrets, spec.internal?.mask_secrets);
      state.writer.mask(resolved.masker);
      state.secretEnv = resolved.env;
    }
    return this.runContainer(state, spec, deadline);
  }

  /**
   * Network `egress`: a gateway credential for this run (HTTP(S)_PROXY in the container's env), released
   * when the run ends; the gateway writes a line into the job's output for each connection it refuses.
   */
  private async egressEnv(state: RunState, spec: JobSpec): Promise<Record<string, string>> {
    if (spec.network !== 'egress' || spec.internal?.attach) return {};
    const lease = await this.egress.lease({ workspaceId: state.job.workspaceId, kind: 'job', id: state.job.id, narrowing: state.job.spec.egress, notify: (line) => state.writer.system(line) });
    void state.ended.finally(() => lease.release());
    return lease.env;
  }

  /** How a run that `error` stopped ends (see failureFor in job-run.ts). */
  failureFor(error: unknown): { reason: JobReason; message: string } {
    return failureFor(error, this.engine);
  }

  private async runContainer(state: RunState, spec: JobSpec, deadline: number): Promise<void> {
    // One step and nothing to collect: the step is the container's main process (no keep-alive, no
    // exec round trips), which keeps a trivial job close to the cost of a bare `docker run`.
    const driverName = spec.internal?.step_driver;
    if (runsAsMainProcess(spec)) return this.runAsMainProcess(state, spec, deadline);
    const { job } = state;
    const installationId = await this.installation.installationId();
    const egressEnv = await this.egressEnv(state, spec);
    const containerSpec = containerSpecFor(job, installationId, deadline, state.image, state.secretEnv);
    state.containerId = await this.runtime.createContainer({ ...containerSpec, env: { ...containerSpec.env, ...egressEnv } });
    state.phases.image_ready_at = new Date().toISOString();
    await this.jobs.update(job.workspaceId, { id: job.id, status: 'running' }, { containerId: state.containerId });
    if (state.controller.signal.aborted) return;
    await this.runtime.startContainer(state.containerId);
    state.phases.started_at = new Date().toISOString();
    crashPoint('job_container_started');
    if (driverName) {
      const driver = this.drivers.get(driverName);
      if (!driver) throw new Error(`no step driver named ${driverName} is registered`);
      await this.runDrivenSteps(state, driver, deadline);
      state.phases.steps_finished_at = new Date().toISOString();
      if (spec.artifacts.length && !state.controller.signal.aborted) await this.collectArtifacts(state, spec.artifacts);
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
    state.phases.steps_finished_at = new Date().toISOString();
    if (spec.artifacts.length && !state.controller.signal.aborted) await this.collectArtifacts(state, spec.artifacts);
    await this.sampler.sample(state);
  }

  private async collectArtifacts(state: RunState, patterns: string[]): Promise<void> {
    state.phases.artifacts_started_at = new Date().toISOString();
    await this.artifacts.collectArtifacts(state, patterns);
    state.phases.artifacts_finished_at = new Date().toISOString();
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
    if (state.adoption) return this.watchMainProcess(state, spec.steps[0]!, deadline, state.adoption);
    const { job } = state;
    const step = spec.steps[0]!;
    const result = state.steps[0]!;
    const installationId = await this.installation.installationId();
    const egressEnv = await this.egressEnv(state, spec);
    state.containerId = await this.runtime.createContainer({
      ...containerSpecFor(job, installationId, deadline, state.image),
      command: step.args ?? ['/bin/sh', '-c', step.command ?? ''],
      env: { ...spec.env, ...state.secretEnv, ...step.env, ...egressEnv },
      workingDir: step.cwd ?? '/workspace',
    });
    const containerId = state.containerId;
    state.phases.image_ready_at = new Date().toISOString();
    // The claim already stored the container's name (which is how recovery finds it), so the id and
    // the step's start are written while the container starts rather than before.
    const started = Date.now();
    Object.assign(result, { status: 'running', started_at: new Date(started).toISOString() });
    const persisted = this.jobs
      .update(job.workspaceId, { id: job.id, status: 'running' }, { containerId, steps: state.steps })
      // Progress only (the container's labels are how recovery finds it): a lost connection does not fail the job.
      .then(() => this.events.progress(job.id), unlessConnectionLost(undefined));
    if (state.controller.signal.aborted) return persisted;
    try {
      await this.watchMainProcess(state, step, deadline, undefined, started);
    } finally {
      await persisted;
    }
    // The exit code is committed with the terminal state, before the container is removed (finish).
  }

  /**
   * Attaches to the main process (before starting it, so no output is missed; or, adopted, to a container
   * another server started, skipping the output already stored) and waits for its end, its deadline, a
   * cancel, or the server's shutdown (detach: the container keeps running for the next server).
   */
  private async watchMainProcess(state: RunState, step: JobSpec['steps'][number], deadline: number, adoption?: Adoption, startedAt?: number): Promise<void> {
    const containerId = adoption?.containerId ?? state.containerId!;
    state.containerId = containerId;
    const result = state.steps[0]!;
    const started = startedAt ?? (Date.parse(result.started_at ?? '') || (state.job.startedAt ?? new Date()).getTime());
    if (adoption) Object.assign(result, { status: 'running', started_at: new Date(started).toISOString() });
    // An adopted run's writer drops the replayed output it stored already (JobLogWriter, after masking).
    const { ended } = await this.runtime.attach(containerId, (stream, chunk) => state.writer.write(0, stream, chunk), { signal: state.detach.signal });
    // Both limits count from the step's start (an adopted run has used part of them already).
    const now = Date.now();
    const remaining = deadline - now;
    const stepLeft = step.timeout_seconds ? step.timeout_seconds * 1000 - (now - started) : Infinity;
    let stepTimedOut = false;
    const timer = setTimeout(
      () => {
        stepTimedOut = true;
        if (stepLeft >= remaining) state.facts.deadlineExceeded = true;
        this.runtime.kill(containerId).catch(() => undefined);
      },
      Math.max(1, Math.min(stepLeft, remaining, 2 ** 31 - 1)),
    );
    try {
      if (!adoption) {
        await this.runtime.startContainer(containerId);
        state.phases.started_at = new Date().toISOString();
        crashPoint('job_container_started');
      }
      state.reattachable = true;
      const exit = await Promise.race([this.runtime.wait(containerId), abortedWait(state.controller.signal), abortedWait(state.detach.signal)]);
      // Shutting down: the process and its output stay with the engine; the next server re-attaches.
      if (detached(state)) return;
      await settledWithin(ended, 3_000);
      let status: StepResult['status'];
      if (state.controller.signal.aborted) status = state.facts.deadlineExceeded ? 'timed_out' : 'cancelled';
      else if (stepTimedOut) status = 'timed_out';
      else status = exitStatus(exit.exitCode, state.job.spec.internal?.success_exit_codes);
      if (status === 'failed' && exit.oomKilled) {
        state.facts.oomKilled = true;
        state.writer.system('step 1 was killed: out of memory');
      }
      if (status === 'timed_out') state.writer.system('step 1 timed out; its processes were killed');
      Object.assign(result, { status, exit_code: exit.exitCode, finished_at: new Date().toISOString(), duration_ms: Date.now() - started });
      state.phases.steps_finished_at = result.finished_at ?? undefined;
    } finally {
      clearTimeout(timer);
    }
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
    else status = exitStatus(exec.exitCode, state.job.spec.internal?.success_exit_codes);
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
