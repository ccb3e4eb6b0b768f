import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { SandboxExitReason, SandboxSpec, SandboxStatus } from 'src/sandboxes/sandbox-model';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/** A long-lived, stateful container for an agent. Status changes are compare-and-set on `status`. */
@Entity({ name: 'sandboxes' })
@Index(['workspaceId', 'createdAt'])
@Index(['status'])
export class SandboxEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'varchar', length: 100, nullable: true })
  name!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: SandboxStatus;

  @Column({ name: 'exit_reason', type: 'varchar', length: 32, nullable: true })
  exitReason!: SandboxExitReason | null;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column({ type: 'varchar', length: 256 })
  image!: string;

  /** The digest the image reference resolved to when the sandbox started (sha256:…). */
  @Column({ name: 'image_digest', type: 'varchar', length: 71, nullable: true })
  imageDigest!: string | null;

  @Column({ type: 'jsonb' })
  spec!: SandboxSpec;

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

  /** Came pre-started from the warm pool. */
  @Column({ type: 'boolean', default: false })
  pooled!: boolean;

  /** The server process that manages it (host:pid:uuid), for re-adoption after a restart. */
  @Column({ name: 'runner_id', type: 'varchar', length: 128, nullable: true })
  runnerId!: string | null;

  @Column({ name: 'ready_at', type: 'timestamptz', nullable: true })
  readyAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'last_activity_at', type: 'timestamptz' })
  lastActivityAt!: Date;

  @Column({ name: 'stopped_at', type: 'timestamptz', nullable: true })
  stoppedAt!: Date | null;
}
