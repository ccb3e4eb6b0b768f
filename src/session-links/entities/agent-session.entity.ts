import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import type { SessionEndReason, SessionStatus } from 'src/session-links/session-model';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * An agent session: jobs and sandboxes created with its id point at it (jobs.session_id,
 * sandboxes.session_id). Never deleted by the API, so audit rows and work keep naming it.
 */
@Entity({ name: 'agent_sessions' })
@Index(['workspaceId', 'createdAt'])
@Index(['status', 'lastActivityAt'])
export class AgentSessionEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ name: 'agent_type', type: 'varchar', length: 32 })
  agentType!: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  name!: string | null;

  @Column({ type: 'jsonb', default: {} })
  metadata!: Record<string, string | number | boolean>;

  @Column({ type: 'varchar', length: 16 })
  status!: SessionStatus;

  @Column({ name: 'idle_timeout_seconds', type: 'integer' })
  idleTimeoutSeconds!: number;

  /** When idle expiry ends it, also stop its sandboxes and cancel its unfinished jobs. */
  @Column({ name: 'cleanup_on_idle', type: 'boolean', default: true })
  cleanupOnIdle!: boolean;

  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;

  @Column({ name: 'last_activity_at', type: 'timestamptz' })
  lastActivityAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'end_reason', type: 'varchar', length: 16, nullable: true })
  endReason!: SessionEndReason | null;
}
