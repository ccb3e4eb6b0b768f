import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import type { InstanceReason, InstanceStatus, JobResult, MatrixRow } from 'src/workflows/engine/model';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import type { InstanceAttempt, StepContextState } from 'src/workflows/workflow-model';

/**
 * One job instance of a run (a matrix combination, or the single instance of a job). Identity is the
 * instance key (job id + canonical matrix JSON), never an index, so resume and rerun line up.
 */
@Entity({ name: 'workflow_instances' })
@Index(['runId', 'instanceKey'], { unique: true })
@Index(['jobId'])
export class WorkflowInstanceEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkflowRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: WorkflowRunEntity;

  @Column({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @Column({ name: 'instance_key', type: 'text' })
  instanceKey!: string;

  /** The workflow job id (`build`), not an OrcaOps job. */
  @Column({ name: 'workflow_job', type: 'varchar', length: 128 })
  workflowJob!: string;

  @Column({ type: 'varchar', length: 16 })
  hash!: string;

  /** Matrix order, for display and admission only. */
  @Column({ name: 'matrix_index', type: 'integer' })
  matrixIndex!: number;

  @Column({ name: 'display_name', type: 'varchar', length: 512 })
  displayName!: string;

  @Column({ type: 'jsonb', default: {} })
  matrix!: MatrixRow;

  @Column({ type: 'varchar', length: 256, nullable: true })
  image!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: InstanceStatus;

  @Column({ type: 'varchar', length: 16, nullable: true })
  outcome!: JobResult | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  conclusion!: JobResult | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: InstanceReason | null;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column({ type: 'jsonb', default: {} })
  outputs!: Record<string, string>;

  @Column({ type: 'integer', default: 0 })
  attempt!: number;

  /** Service containers the running attempt reserved (quota workflow_service_containers); 0 after teardown. */
  @Column({ name: 'service_containers', type: 'integer', default: 0 })
  serviceContainers!: number;

  /** Their memory limits in MiB (quota workflow_service_memory_mb); 0 after teardown. */
  @Column({ name: 'service_memory_mb', type: 'integer', default: 0 })
  serviceMemoryMb!: number;

  /** The OrcaOps job of the current (or last) attempt. */
  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Column({ type: 'jsonb', default: [] })
  attempts!: InstanceAttempt[];

  /** Step results, $GITHUB_ENV/$GITHUB_PATH additions of the current attempt (driver state). */
  @Column({ name: 'step_state', type: 'jsonb', nullable: true })
  stepState!: StepContextState | null;

  /** Set when a cancellation was requested while the instance ran. */
  @Column({ name: 'cancel_requested', type: 'varchar', length: 32, nullable: true })
  cancelRequested!: InstanceReason | null;

  /** The runner was told to stop it (not re-sent after a resume). */
  @Column({ name: 'stop_sent', type: 'boolean', default: false })
  stopSent!: boolean;

  /** When it became ready to start (admission is FIFO across jobs). */
  @Column({ name: 'queued_at', type: 'timestamptz', nullable: true })
  queuedAt!: Date | null;

  @Column({ name: 'retry_at', type: 'timestamptz', nullable: true })
  retryAt!: Date | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
