import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * A signed preview URL of one sandbox port (docs/sandboxes.md#preview-urls). Only the sha256 of the
 * URL's secret is stored; the URL is shown once, when issued. Checked on every proxied request:
 * revoked_at and expires_at end it at once. Rows go with their sandbox (and its workspace).
 */
@Entity({ name: 'sandbox_previews' })
@Index(['workspaceId', 'sandboxId', 'createdAt'])
export class SandboxPreviewEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ name: 'sandbox_id', type: 'uuid' })
  sandboxId!: string;

  @ManyToOne(() => SandboxEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sandbox_id' })
  sandbox?: SandboxEntity;

  @Column({ type: 'integer' })
  port!: number;

  /** sha256 (hex) of the URL's secret part. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** Token id of the issuer. */
  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;
}
