import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { CleanupPolicy, JobApproval, JobReason, JobSpec, JobStatus, RunPhases, StepResult } from 'src/jobs/job-model';

const bigintOrNull = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/** A job and its run record. Every status change is a compare-and-set on `status`. */
@Entity({ name: 'jobs' })
@Index(['workspaceId', 'createdAt'])
@Index(['workspaceId', 'idempotencyKey'], { unique: true, where: 'idempotency_key IS NOT NULL' })
@Index(['status'])
// Run history: "runs of the same thing" (fingerprint) newest first, per workspace.
@Index(['workspaceId', 'fingerprint', 'createdAt'])
// Run search filters that can match few of a workspace's runs (issue 15: every filter p50 ≤ 50 ms at 100 000
// runs): without these a rare reason, exit code, duration, tag or metadata value walks all of them.
@Index(['workspaceId', 'reason', 'createdAt'])
@Index(['workspaceId', 'exitCode', 'createdAt'])
@Index('IDX_jobs_workspace_triggered_by', ['workspaceId', 'triggeredBy', 'createdAt'])
// varchar_pattern_ops: an image glob's literal prefix (`LIKE 'orcaops/py%'`) becomes an index range in any collation.
@Index('jobs_workspace_image_pattern', { synchronize: false })
@Index('jobs_workspace_duration', { synchronize: false })
@Index('jobs_workspace_tags_gin', { synchronize: false })
@Index('jobs_workspace_metadata_gin', { synchronize: false })
// The reconciler's look for removals whose runner died (rare rows: a partial index stays tiny).
@Index(['containerState'], { where: "container_state = 'removing'" })
export class JobEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  // 24: room for awaiting_approval (17).
  @Column({ type: 'varchar', length: 24 })
  status!: JobStatus;

  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: JobReason | null;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column({ type: 'jsonb' })
  spec!: JobSpec;

  @Column({ type: 'varchar', length: 256 })
  image!: string;

  /** The digest the image reference resolved to when the job ran (sha256:…); a rerun of the record pins it. */
  @Column({ name: 'image_digest', type: 'varchar', length: 71, nullable: true })
  imageDigest!: string | null;

  /** The pull phase (its time is not run time: the job's timeout starts after it); null when nothing was pulled. */
  @Column({ name: 'pull_started_at', type: 'timestamptz', nullable: true })
  pullStartedAt!: Date | null;

  @Column({ name: 'pull_finished_at', type: 'timestamptz', nullable: true })
  pullFinishedAt!: Date | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags!: string[];

  @Column({ type: 'text', nullable: true })
  intent!: string | null;

  @Column({ name: 'triggered_by', type: 'varchar', length: 64, nullable: true })
  triggeredBy!: string | null;

  @Column({ type: 'jsonb', default: {} })
  metadata!: Record<string, unknown>;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  /** sha256 of the normalised request, to tell a retry from a different request with the same key. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;

  @Index()
  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId!: string | null;

  @ManyToOne(() => AgentSessionEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'session_id' })
  session?: AgentSessionEntity;

  @Column({ name: 'container_id', type: 'varchar', length: 80, nullable: true })
  containerId!: string | null;

  @Column({ name: 'container_name', type: 'varchar', length: 80, nullable: true })
  containerName!: string | null;

  /** Which server process runs it (host + boot id), for crash recovery. */
  @Column({ name: 'runner_id', type: 'varchar', length: 128, nullable: true })
  runnerId!: string | null;

  @Column({ name: 'heartbeat_at', type: 'timestamptz', nullable: true })
  heartbeatAt!: Date | null;

  @Column({ name: 'cancel_requested_at', type: 'timestamptz', nullable: true })
  cancelRequestedAt!: Date | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ type: 'jsonb', default: [] })
  steps!: StepResult[];

  @Column({ name: 'cpu_seconds', type: 'double precision', nullable: true })
  cpuSeconds!: number | null;

  @Column({ name: 'memory_peak_bytes', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  memoryPeakBytes!: number | null;

  @Column({ name: 'block_read_bytes', type: 'bigint', nullable: true, transformer: bigintOrNull })
  blockReadBytes!: number | null;

  @Column({ name: 'block_write_bytes', type: 'bigint', nullable: true, transformer: bigintOrNull })
  blockWriteBytes!: number | null;

  @Column({ name: 'pids_peak', type: 'integer', nullable: true })
  pidsPeak!: number | null;

  /** runFingerprint(spec) (src/jobs/records/run-fingerprint.ts); null on rows older than run records. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  fingerprint!: string | null;

  /** Docker engine version and OCI runtime (name/version) the run used; null when unknown. */
  @Column({ name: 'engine_version', type: 'varchar', length: 64, nullable: true })
  engineVersion!: string | null;

  @Column({ name: 'runtime_version', type: 'varchar', length: 64, nullable: true })
  runtimeVersion!: string | null;

  // TODO(registry): the resolved image digest lands in `image_digest` (NAME=registry); the record reads it from there.

  /** When each phase of the run was reached (ISO times); null on rows older than run records. */
  @Column({ type: 'jsonb', nullable: true })
  phases!: RunPhases | null;

  @Column({ name: 'output_bytes', type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  outputBytes!: number;

  @Column({ name: 'output_truncated', type: 'boolean', default: false })
  outputTruncated!: boolean;

  @Column({ name: 'cleanup_policy', type: 'varchar', length: 32 })
  cleanupPolicy!: CleanupPolicy;

  /** removed | kept | pending; kept containers are removed by the reaper at keep_until. */
  @Column({ name: 'container_state', type: 'varchar', length: 16, default: 'none' })
  /** `removing`: terminal state committed, container being removed by its runner; `pending`: left to the reaper. */
  containerState!: 'none' | 'pending' | 'removing' | 'removed' | 'kept';

  /** Set when a policy held the job for approval (awaiting_approval), updated with the decision. */
  @Column({ type: 'jsonb', nullable: true })
  approval!: JobApproval | null;

  @Column({ name: 'keep_until', type: 'timestamptz', nullable: true })
  keepUntil!: Date | null;
}
