import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import type { InstanceState, InstanceStatus, JobState, RunState } from 'src/workflows/engine/model';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import type { InstanceAttempt, StepContextState } from 'src/workflows/workflow-model';

/** One run in its workspace: every operation of the store is scoped by both. */
export interface RunKey {
  runId: string;
  workspaceId: string;
}

/** The run-level part of a commit: the engine's per-job state and the run's cancellation. */
export interface JobStatesChange {
  jobs: Record<string, JobState>;
  cancelled: RunState['cancelled'] | null;
}

/** A run that is running, as the resume scan sees it (any workspace). */
export type RunningRun = Pick<WorkflowRunEntity, 'id' | 'workspaceId' | 'runnerId'>;

/** The attempt being written is always the last element of `attempts` (an attempt appends it first). */
const LAST_ATTEMPT = 'ARRAY[(jsonb_array_length(attempts) - 1)::text]';

/**
 * The workflow run journal: the run row and its instance rows, written through named operations (one
 * per state transition of the runner and the step driver) instead of hand-built SQL. Every operation
 * goes through the tenant-scoped repositories, so each statement carries the run's workspace_id;
 * attempt records are changed in place (jsonb_set) so each write stays one atomic statement. The
 * callers keep the ordering rule: a transition is stored before its side effect.
 */
@Injectable()
export class WorkflowInstanceStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectScopedRepository(WorkflowRunEntity) private readonly runs: TenantScopedRepository<WorkflowRunEntity>,
    @InjectScopedRepository(WorkflowInstanceEntity) private readonly instances: TenantScopedRepository<WorkflowInstanceEntity>,
  ) {}

  // ─── Run rows ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Runs still running in every workspace: the resume scan of the runner, a system task across tenants
   * (each claim then acts within the row's own workspace).
   */
  runningRuns(): Promise<RunningRun[]> {
    return this.dataSource.getRepository(WorkflowRunEntity).find({ where: { status: 'running' }, select: { id: true, workspaceId: true, runnerId: true } });
  }

  /** Takes over a running run whose runner is `previousRunner` (compare-and-set); false when another runner won. */
  async claimRun(run: RunKey, previousRunner: string | null, runnerId: string): Promise<boolean> {
    return (await this.runs.update(run.workspaceId, { id: run.runId, status: 'running', runnerId: previousRunner ?? IsNull() }, { runnerId })) > 0;
  }

  /** The run row and its instances (matrix order), to rebuild the loop's state. */
  async load(run: RunKey): Promise<{ run: WorkflowRunEntity; instances: WorkflowInstanceEntity[] }> {
    const row = await this.runs.findOne(run.workspaceId, { id: run.runId });
    if (!row) throw new Error(`workflow run ${run.runId} was not found`);
    const instances = await this.instances.find(run.workspaceId, { where: { runId: run.runId }, order: { matrixIndex: 'ASC' } });
    return { run: row, instances };
  }

  /** The run row, for the step driver (which knows the workspace and run from its job's instance). */
  async runOf(workspaceId: string, runId: string): Promise<WorkflowRunEntity> {
    const row = await this.runs.findOne(workspaceId, { id: runId });
    if (!row) throw new Error(`workflow run ${runId} was not found`);
    return row;
  }

  /** Whether a user asked to cancel the run (possibly through another server). */
  async cancelRequested(run: RunKey): Promise<boolean> {
    const [row] = await this.runs.find(run.workspaceId, { where: { id: run.runId }, select: { id: true, cancelledBy: true }, take: 1 });
    return row?.cancelledBy === 'user';
  }

  /** The run completed with `conclusion` (only from running: a run deleted or rerun meanwhile is left alone). */
  async finishRun(run: RunKey, conclusion: NonNullable<WorkflowRunEntity['conclusion']>): Promise<void> {
    await this.runs.update(run.workspaceId, { id: run.runId, status: 'running' }, { status: 'completed', conclusion, finishedAt: new Date() });
  }

  // ─── The loop's transitions ─────────────────────────────────────────────────────────────────────

  /**
   * Stores one step of the loop in one transaction: new instances, changed instances, and the run's job
   * states when they changed. The loop acts on the transitions only after this resolves.
   */
  async saveTransitions(run: RunKey, change: { insert: InstanceState[]; update: InstanceState[]; jobStates?: JobStatesChange }): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const instances = this.instances.withManager(manager);
      for (const inst of change.insert) {
        await instances.insert(run.workspaceId, { id: randomUUID(), runId: run.runId, ...identityOf(inst), ...stateOf(inst) });
      }
      for (const inst of change.update) {
        await instances.update(run.workspaceId, { runId: run.runId, instanceKey: inst.instance.key }, stateOf(inst));
      }
      if (change.jobStates) {
        await this.runs
          .withManager(manager)
          .updateExpression(run.workspaceId, { id: run.runId }, { jobStates: () => ':jobs::jsonb', cancelledBy: change.jobStates.cancelled ?? null }, { jobs: JSON.stringify(change.jobStates.jobs) });
      }
    });
  }

  /**
   * A rerun of a finished run, in the caller's transaction (with its audit event): the instances in
   * `remove` go (their jobs are expanded again), those in `requeue` wait to start again with their
   * results cleared, and the run is running again under `runnerId` with the new job states.
   */
  /** Adds image pins to the run; a reference pinned already keeps its first digest. */
  async recordImageDigests(run: RunKey, digests: Record<string, string>): Promise<void> {
    if (!Object.keys(digests).length) return;
    await this.runs.updateExpression(run.workspaceId, { id: run.runId }, { imageDigests: () => ':digests::jsonb || image_digests' }, { digests: JSON.stringify(digests) });
  }

  async resetForRerun(manager: EntityManager, run: RunKey, change: { remove: string[]; requeue: string[]; jobStates: Record<string, JobState>; runnerId: string }): Promise<void> {
    const instances = this.instances.withManager(manager);
    for (const id of change.remove) await instances.delete(run.workspaceId, { id, runId: run.runId });
    for (const id of change.requeue) {
      await instances.update(run.workspaceId, { id, runId: run.runId }, { status: 'queued', outcome: null, conclusion: null, reason: null, message: null, cancelRequested: null, finishedAt: null });
    }
    await this.runs.withManager(manager).updateExpression(
      run.workspaceId,
      { id: run.runId },
      { status: 'running', conclusion: null, cancelledBy: null, finishedAt: null, startedAt: () => 'now()', jobStates: () => ':jobs::jsonb', runnerId: change.runnerId },
      { jobs: JSON.stringify(change.jobStates) },
    );
  }

  // ─── One attempt of an instance ─────────────────────────────────────────────────────────────────

  /** A new attempt begins: its record is appended, and the previous attempt's job, message and step state are cleared. */
  async startAttempt(run: RunKey, key: string, record: InstanceAttempt): Promise<void> {
    await this.instances.updateExpression(
      run.workspaceId,
      { runId: run.runId, instanceKey: key },
      { attempts: () => 'attempts || :record::jsonb', message: null, jobId: null, stepState: null },
      { record: JSON.stringify([record]) },
    );
  }

  /** The contexts the step driver resolves the attempt's steps with, stored before its job is submitted. */
  async initStepState(run: RunKey, key: string, state: StepContextState): Promise<void> {
    await this.instances.updateExpression(run.workspaceId, { runId: run.runId, instanceKey: key }, { stepState: () => ':state::jsonb' }, { state: JSON.stringify(state) });
  }

  /** The attempt's OrcaOps job was submitted: the instance points at it and the attempt record names it. */
  async recordJob(run: RunKey, key: string, jobId: string, record: InstanceAttempt): Promise<void> {
    await this.instances.updateExpression(
      run.workspaceId,
      { runId: run.runId, instanceKey: key },
      { jobId, attempts: () => `jsonb_set(attempts, ${LAST_ATTEMPT}, :record::jsonb)` },
      { record: JSON.stringify(record) },
    );
  }

  /** The attempt ended: its final record replaces the last one, and the instance's message is set. */
  async finishAttempt(run: RunKey, key: string, message: string | null, record: InstanceAttempt): Promise<void> {
    await this.instances.updateExpression(
      run.workspaceId,
      { runId: run.runId, instanceKey: key },
      { message, attempts: () => `jsonb_set(attempts, ${LAST_ATTEMPT}, :record::jsonb)` },
      { record: JSON.stringify(record) },
    );
  }

  /**
   * Closes the last attempt of an instance a dead runner left running: `patch` is merged into its record
   * (an instance with no attempt keeps none).
   */
  async closeInterruptedAttempt(run: RunKey, key: string, message: string | null, patch: Pick<InstanceAttempt, 'status' | 'reason' | 'finished_at' | 'message'>): Promise<void> {
    await this.instances.updateExpression(
      run.workspaceId,
      { runId: run.runId, instanceKey: key },
      { message, attempts: () => `CASE WHEN jsonb_array_length(attempts) > 0 THEN jsonb_set(attempts, ${LAST_ATTEMPT}, (attempts -> -1) || :patch::jsonb) ELSE attempts END` },
      { patch: JSON.stringify(patch) },
    );
  }

  /** The job outputs the step driver evaluated for the instance's last attempt ({} when none). */
  async jobOutputs(run: RunKey, key: string): Promise<Record<string, string>> {
    const [row] = await this.instances.find(run.workspaceId, { where: { runId: run.runId, instanceKey: key }, select: { id: true, stepState: true }, take: 1 });
    return row?.stepState?.jobOutputs ?? {};
  }

  // ─── The step driver ────────────────────────────────────────────────────────────────────────────

  /** The instance an OrcaOps job runs (its current attempt's job). */
  async instanceOfJob(workspaceId: string, jobId: string): Promise<WorkflowInstanceEntity> {
    const row = await this.instances.findOne(workspaceId, { jobId });
    if (!row) throw new Error(`no workflow instance runs job ${jobId}`);
    return row;
  }

  /** The services' quota reservation on the instance row (inside the admitting transaction when given its manager); 0 and 0 release it. */
  async reserveServices(workspaceId: string, runId: string, instanceKey: string, reservation: { containers: number; memoryMb: number }, manager?: EntityManager): Promise<void> {
    const instances = manager ? this.instances.withManager(manager) : this.instances;
    await instances.update(workspaceId, { runId, instanceKey }, { serviceContainers: reservation.containers, serviceMemoryMb: reservation.memoryMb });
  }

  /** The instance row by its run, hash and attempt (before the attempt's job id is recorded), if any. */
  instanceByAttempt(workspaceId: string, runId: string, hash: string, attempt: number): Promise<WorkflowInstanceEntity | null> {
    return this.instances.findOne(workspaceId, { runId, hash, attempt });
  }

  /** The driver's state after a step (results, $GITHUB_ENV/PATH additions, notes, artifacts). */
  async saveStepState(workspaceId: string, instanceId: string, state: StepContextState): Promise<void> {
    await this.instances.updateExpression(workspaceId, { id: instanceId }, { stepState: () => ':state::jsonb' }, { state: JSON.stringify(state) });
  }

  /** Finished instances of some workflow jobs of a run, in matrix order (artifact producers). */
  producers(run: RunKey, workflowJobs: string[], finished: InstanceStatus[]): Promise<Array<Pick<WorkflowInstanceEntity, 'workflowJob' | 'matrixIndex' | 'status' | 'jobId' | 'stepState'>>> {
    return this.instances.find(run.workspaceId, {
      where: { runId: run.runId, workflowJob: In(workflowJobs), status: In(finished) },
      select: { workflowJob: true, matrixIndex: true, status: true, jobId: true, stepState: true },
      order: { matrixIndex: 'ASC' },
    });
  }
}

/** The columns fixed when an instance is created. */
function identityOf(inst: InstanceState): Partial<WorkflowInstanceEntity> {
  const i = inst.instance;
  return { instanceKey: i.key, workflowJob: i.jobId, hash: i.hash, matrixIndex: i.index, displayName: i.displayName.slice(0, 512), matrix: i.matrix, image: i.image ?? null };
}

/** The columns the engine's instance state maps to (written on insert and on every change). */
function stateOf(inst: InstanceState): Partial<WorkflowInstanceEntity> {
  const at = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));
  return {
    status: inst.status,
    outcome: inst.outcome ?? null,
    conclusion: inst.conclusion ?? null,
    reason: inst.reason ?? null,
    outputs: inst.outputs ?? {},
    attempt: inst.attempt,
    cancelRequested: inst.cancelRequested ?? null,
    retryAt: at(inst.retryAt),
    startedAt: at(inst.startedAt),
    finishedAt: at(inst.finishedAt),
    stopSent: inst.stopSent ?? false,
    queuedAt: at(inst.queuedAt),
  };
}
