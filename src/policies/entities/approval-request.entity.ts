import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import type { PolicyViolation } from 'src/policies/policy-model';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** Work a policy held for a human decision. Every decision is a compare-and-set from `pending`. */
@Entity({ name: 'approval_requests' })
@Index(['workspaceId', 'status', 'createdAt'])
@Index(['status', 'expiresAt'])
export class ApprovalRequestEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'varchar', length: 16 })
  status!: ApprovalStatus;

  /** What waits: today only `job`. */
  @Column({ name: 'resource_type', type: 'varchar', length: 32 })
  resourceType!: 'job';

  @Column({ name: 'resource_id', type: 'uuid' })
  resourceId!: string;

  /** Token id of the requester. */
  @Column({ name: 'requested_by', type: 'varchar', length: 64 })
  requestedBy!: string;

  /** The policy violations that asked for approval. */
  @Column({ type: 'jsonb' })
  reasons!: PolicyViolation[];

  /** A short view of what would run (image, commands, network, resources) for the approver. */
  @Column({ type: 'jsonb', default: {} })
  summary!: Record<string, unknown>;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'decided_by', type: 'varchar', length: 64, nullable: true })
  decidedBy!: string | null;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  comment!: string | null;
}
