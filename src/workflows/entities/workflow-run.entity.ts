import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import type { JobResult, JobState, RunContext, Workflow } from 'src/workflows/engine/model';
import type { WorkflowRunStatus } from 'src/workflows/workflow-model';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * One workflow run: the source as submitted, the normalised workflow the engine works on, its fixed
 * contexts, and the per-job engine state. Instances live in workflow_instances. The runner records every
 * transition here before acting on it, so a runner that dies leaves a state another one can resume.
 */
@Entity({ name: 'workflow_runs' })
@Index(['workspaceId', 'createdAt'])
@Index(['status'])
export class WorkflowRunEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'varchar', length: 256 })
  name!: string;

  /** File name used in diagnostics (`<inline>` for API submissions without one). */
  @Column({ type: 'varchar', length: 256 })
  file!: string;

  /** The submitted YAML (or JSON) text, kept verbatim. */
  @Column({ type: 'text' })
  source!: string;

  /** The normalised workflow (engine model), so a resume does not depend on the loader's version. */
  @Column({ type: 'jsonb' })
  spec!: Workflow;

  @Column({ type: 'jsonb', default: {} })
  inputs!: Record<string, unknown>;

  @Column({ name: 'env_overrides', type: 'jsonb', default: {} })
  envOverrides!: Record<string, string>;

  @Column({ type: 'jsonb' })
  context!: RunContext;

  /** Engine state per workflow job (phase, instance keys, aggregate result). */
  @Column({ name: 'job_states', type: 'jsonb', default: {} })
  jobStates!: Record<string, JobState>;

  @Column({ name: 'max_parallel', type: 'integer' })
  maxParallel!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: WorkflowRunStatus;

  /**
   * Registry images as the run first resolved them (reference as written → sha256 digest): later jobs,
   * services and reruns of the run use `repository@digest` (src/workflows/runner/image-pins.ts).
   */
  @Column({ name: 'image_digests', type: 'jsonb', default: {} })
  imageDigests!: Record<string, string>;

  @Column({ type: 'varchar', length: 16, nullable: true })
  conclusion!: JobResult | null;

  /** 'user' or 'timeout' once the run is cancelled (journaled: a resumed run stays cancelled). */
  @Column({ name: 'cancelled_by', type: 'varchar', length: 16, nullable: true })
  cancelledBy!: 'user' | 'timeout' | null;

  /** sha256 of the normalised workflow and its source archive (workflow-fingerprint.ts); null on runs from before it. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  fingerprint!: string | null;

  /** The uploaded source directory `actions/checkout` brings in (workflow_sources), if any. */
  @Column({ name: 'source_id', type: 'uuid', nullable: true })
  sourceId!: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  warnings!: string[];

  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;

  /** The agent session the run was submitted in (its instance jobs inherit it); null when none. */
  @Index()
  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId!: string | null;

  @ManyToOne(() => AgentSessionEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'session_id' })
  session?: AgentSessionEntity;

  /** The runner process driving the run (its liveness lock tells whether it is gone). */
  @Column({ name: 'runner_id', type: 'varchar', length: 128, nullable: true })
  runnerId!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
