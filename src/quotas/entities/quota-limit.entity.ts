import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Quota } from 'src/quotas/quota-model';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

const bigintOrNull = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/**
 * One limit: an organisation-wide default (workspace_id NULL) or a workspace's override. No row means
 * "inherit" (workspace → organisation → built-in); a row with a NULL limit means "unlimited". Not
 * tenant-owned: organisation rows belong to no workspace, and only QuotasService reads this table.
 */
@Entity({ name: 'quota_limits' })
@Index('UQ_quota_limits_workspace', ['workspaceId', 'quota'], { unique: true, where: 'workspace_id IS NOT NULL' })
@Index('UQ_quota_limits_organisation', ['quota'], { unique: true, where: 'workspace_id IS NULL' })
export class QuotaLimitEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'workspace_id', type: 'uuid', nullable: true })
  workspaceId!: string | null;

  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'varchar', length: 48 })
  quota!: Quota;

  /** NULL = unlimited. */
  @Column({ name: 'limit_value', type: 'bigint', nullable: true, transformer: bigintOrNull })
  limitValue!: number | null;

  /** Token id of the organisation admin who set it. */
  @Column({ name: 'updated_by', type: 'varchar', length: 64 })
  updatedBy!: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
