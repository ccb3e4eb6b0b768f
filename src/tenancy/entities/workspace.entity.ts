import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const WORKSPACE_STATUSES = ['active', 'suspended', 'archived'] as const;
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number];

/** Settings an organisation admin may set on a workspace. */
export interface WorkspaceSettings {
  /** Days a finished job's record and artifacts are kept. */
  job_retention_days?: number;
  description?: string;
  /** Organisation admins only: jobs and sandboxes may ask for network egress. */
  allow_network_egress?: boolean;
  // Limits (max_concurrent_jobs, max_sandboxes, max_sandbox_seconds_per_day) live in quota_limits since
  // the Quotas migration; PATCH still accepts those keys and writes them there (src/quotas).
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

  // An object default (not a raw SQL string) is what TypeORM compares jsonb defaults against: no false drift.
  @Column({ type: 'jsonb', default: {} })
  settings!: WorkspaceSettings;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt!: Date | null;
}
