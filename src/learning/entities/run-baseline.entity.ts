import { Column, Entity, Index } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';

const bytes = { to: (v: Uint8Array | null) => (v ? Buffer.from(v) : null), from: (v: Buffer | null) => (v ? new Uint8Array(v) : null) };

/** The rolling statistics of one recurring run (a job fingerprint) in one workspace (baseline-stats.ts). */
@Entity('run_baselines')
@Index(['workspaceId', 'fingerprint'], { unique: true })
export class RunBaselineEntity extends TenantOwnedEntity {
  @Column({ type: 'text' })
  fingerprint!: string;

  @Column({ type: 'integer', default: 0 })
  runs!: number;

  @Column({ type: 'integer', default: 0 })
  succeeded!: number;

  @Column({ type: 'integer', default: 0 })
  failed!: number;

  @Column({ name: 'success_ewma', type: 'double precision', nullable: true })
  successEwma!: number | null;

  @Column({ name: 'duration_samples', type: 'integer', default: 0 })
  durationSamples!: number;

  @Column({ name: 'duration_ewma_ms', type: 'double precision', nullable: true })
  durationEwmaMs!: number | null;

  @Column({ name: 'duration_sketch', type: 'bytea', nullable: true, transformer: bytes })
  durationSketch!: Uint8Array | null;

  @Column({ name: 'memory_samples', type: 'integer', default: 0 })
  memorySamples!: number;

  @Column({ name: 'memory_ewma_bytes', type: 'double precision', nullable: true })
  memoryEwmaBytes!: number | null;

  @Column({ name: 'memory_sketch', type: 'bytea', nullable: true, transformer: bytes })
  memorySketch!: Uint8Array | null;

  @Column({ name: 'cpu_samples', type: 'integer', default: 0 })
  cpuSamples!: number;

  @Column({ name: 'cpu_ewma_seconds', type: 'double precision', nullable: true })
  cpuEwmaSeconds!: number | null;

  @Column({ name: 'cpu_sketch', type: 'bytea', nullable: true, transformer: bytes })
  cpuSketch!: Uint8Array | null;

  @Column({ name: 'last_run_at', type: 'timestamptz', nullable: true })
  lastRunAt!: Date | null;
}
