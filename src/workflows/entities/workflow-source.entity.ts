import { Column, Entity, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * A source directory uploaded for workflow runs (`actions/checkout` brings it into a job). The bytes
 * (a validated, re-packed tar) live in ArtifactStorage under a server-generated key; runs refer to it
 * by id. Removed by retention once no running run uses it.
 */
@Entity({ name: 'workflow_sources' })
export class WorkflowSourceEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  /** Size of the upload as received. */
  @Column({ name: 'size_bytes', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  sizeBytes!: number;

  /** sha256 of the upload as received (what the client can compare with its own tar). */
  @Column({ type: 'varchar', length: 64 })
  sha256!: string;

  @Column({ type: 'integer' })
  files!: number;

  @Column({ name: 'storage_key', type: 'varchar', length: 256 })
  storageKey!: string;
}
