import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row naming this installation (database). Containers carry it as a label, so reapers only ever
 * touch containers of their own installation when several share one Docker engine.
 */
@Entity({ name: 'installation' })
export class InstallationEntity {
  @PrimaryColumn({ type: 'boolean', default: true })
  singleton!: boolean;

  @Column({ type: 'uuid' })
  id!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
