import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import type { PolicyDocument } from 'src/policies/policy-model';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/** A workspace's own policy (at most one per workspace); it can only narrow the organisation default. */
@Entity({ name: 'workspace_policies' })
@Index('UQ_workspace_policies_workspace_id', ['workspaceId'], { unique: true })
export class WorkspacePolicyEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'jsonb', default: {} })
  document!: PolicyDocument;

  @Column({ name: 'updated_by', type: 'varchar', length: 64 })
  updatedBy!: string;
}
