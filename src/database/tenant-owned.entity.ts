import { Column, CreateDateColumn, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * Base of every tenant-owned table: NOT NULL workspace_id with an index. Reach these rows only
 * through TenantScopedRepository, which puts workspace_id into every query.
 */
export abstract class TenantOwnedEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Index()
  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
