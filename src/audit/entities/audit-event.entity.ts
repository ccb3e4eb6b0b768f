import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'denied' | 'failure';
export type AuditActorType = 'organisation' | 'workspace' | 'anonymous' | 'system';

/**
 * Append-only. workspace_id is nullable on purpose: failed authentication and organisation-level
 * events belong to no workspace (documented exemption from TenantOwnedEntity).
 */
@Entity({ name: 'audit_events' })
@Index(['workspaceId', 'occurredAt'])
export class AuditEventEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Index()
  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'workspace_id', type: 'uuid', nullable: true })
  workspaceId!: string | null;

  @Column({ name: 'actor_type', type: 'varchar', length: 16 })
  actorType!: AuditActorType;

  @Column({ name: 'actor_id', type: 'varchar', length: 64, nullable: true })
  actorId!: string | null;

  @Index()
  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ name: 'resource_type', type: 'varchar', length: 32, nullable: true })
  resourceType!: string | null;

  @Column({ name: 'resource_id', type: 'varchar', length: 64, nullable: true })
  resourceId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: AuditOutcome;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId!: string | null;

  @Column({ name: 'client_ip', type: 'varchar', length: 64, nullable: true })
  clientIp!: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  via!: string | null;

  @Index()
  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId!: string | null;

  // An object default (not a raw SQL string) is what TypeORM compares jsonb defaults against: no false drift.
  @Column({ type: 'jsonb', default: {} })
  details!: Record<string, unknown>;
}
