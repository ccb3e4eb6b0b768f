import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const WORKSPACE_STATUSES = ['active', 'suspended', 'archived'] as const;
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number];

/** Settings an organisation admin may set on a workspace. */
export interface WorkspaceSettings {
  /** Days a finished job's record and artifacts are kept. */
  job_retention_days?: number;
  description?: string;
}

/** The tenant. Not tenant-owned itself: organisation admins reach every row (documented exemption). */
@Entity({ name: 'workspaces' })
export class WorkspaceEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: WorkspaceStatus;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  settings!: WorkspaceSettings;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt!: Date | null;
}
