import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * The consumption ledger: per workspace and UTC day, jobs admitted and CPU-seconds measured. Each
 * counter is incremented in the transaction that admits or finishes the job, so it is exact and, unlike
 * counting job rows, survives job deletion and retention. Written and read only by QuotasService.
 */
@Entity({ name: 'quota_usage_days' })
export class QuotaUsageDayEntity {
  @PrimaryColumn({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  /** UTC calendar day (YYYY-MM-DD). */
  @PrimaryColumn({ type: 'date' })
  day!: string;

  @Column({ name: 'jobs_created', type: 'integer', default: 0 })
  jobsCreated!: number;

  @Column({ name: 'cpu_seconds', type: 'double precision', default: 0 })
  cpuSeconds!: number;
}
