import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import type { EnvironmentEngineObjects, EnvironmentServiceState, EnvironmentStatus, StoredEnvironmentDefinition } from 'src/environments/environment-model';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/** A sandbox plus companion services on its private network (docs/environments.md). Status changes are compare-and-set. */
@Entity({ name: 'environments' })
@Index(['workspaceId', 'createdAt'])
@Index(['status'])
export class EnvironmentEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'varchar', length: 63, nullable: true })
  name!: string | null;

  /** The sandboxes.yml template it came from; null for a project file's definition. */
  @Column({ type: 'varchar', length: 63, nullable: true })
  template!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: EnvironmentStatus;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column({ type: 'jsonb' })
  definition!: StoredEnvironmentDefinition;

  @Column({ type: 'jsonb' })
  services!: EnvironmentServiceState[];

  /** Progress lines while it starts (bounded, MAX_ENVIRONMENT_EVENTS). */
  @Column({ type: 'jsonb' })
  events!: string[];

  @Column({ name: 'engine_objects', type: 'jsonb' })
  engineObjects!: EnvironmentEngineObjects;

  /** The environment's sandbox (a sandbox like any other: exec, files, shells). */
  @Column({ name: 'sandbox_id', type: 'uuid', nullable: true })
  sandboxId!: string | null;

  /** Service containers reserved against the workflow_service_containers quota; 0 once removed. */
  @Column({ name: 'service_containers', type: 'int', default: 0 })
  serviceContainers!: number;

  @Column({ name: 'service_memory_mb', type: 'int', default: 0 })
  serviceMemoryMb!: number;

  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;

  @Column({ name: 'ttl_seconds', type: 'int' })
  ttlSeconds!: number;

  @Column({ name: 'idle_timeout_seconds', type: 'int' })
  idleTimeoutSeconds!: number;

  @Column({ name: 'stopped_at', type: 'timestamptz', nullable: true })
  stoppedAt!: Date | null;
}
