import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * Egress bytes (up + down) per workspace and UTC day: the daily egress quota's counter, so it survives
 * a restart and is shared by the servers of one database. Incremented in batches by EgressUsage.
 */
@Entity({ name: 'egress_usage_days' })
export class EgressUsageDayEntity {
  @PrimaryColumn({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  /** UTC calendar day (YYYY-MM-DD). */
  @PrimaryColumn({ type: 'date' })
  day!: string;

  @Column({ type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  bytes!: number;
}
