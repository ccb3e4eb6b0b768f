import { Column, Entity, Index } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import type { DetectedAnomaly } from 'src/learning/baseline-stats';

export const ANOMALY_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type AnomalyState = (typeof ANOMALY_STATES)[number];

/** A finished run far outside its fingerprint's baseline (baseline-stats.ts detectAnomalies), with its evidence. */
@Entity('run_anomalies')
@Index(['workspaceId', 'state', 'createdAt'])
export class RunAnomalyEntity extends TenantOwnedEntity {
  @Column({ type: 'text' })
  fingerprint!: string;

  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Column({ type: 'varchar', length: 32 })
  kind!: DetectedAnomaly['kind'];

  @Column({ type: 'varchar', length: 16 })
  severity!: DetectedAnomaly['severity'];

  @Column({ type: 'varchar', length: 16, default: 'open' })
  state!: AnomalyState;

  @Column({ type: 'jsonb' })
  evidence!: Omit<DetectedAnomaly, 'kind' | 'severity'>;

  @Column({ name: 'state_changed_at', type: 'timestamptz', nullable: true })
  stateChangedAt!: Date | null;
}
