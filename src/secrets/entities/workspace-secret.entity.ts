import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/** A workspace secret: its name and its value sealed by SecretBox (never stored or returned in clear). */
@Entity({ name: 'workspace_secrets' })
@Index('UQ_workspace_secrets_workspace_id_name', ['workspaceId', 'name'], { unique: true })
export class WorkspaceSecretEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  /** `v1:<keyId>:<iv>:<tag>:<ciphertext>`, bound to the workspace and name (AAD). */
  @Column({ type: 'text' })
  sealed!: string;

  /** The key it is sealed with (rotate-key re-seals rows whose key is not the current one). */
  @Column({ name: 'key_id', type: 'varchar', length: 32 })
  keyId!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;

  @Column({ name: 'updated_by', type: 'varchar', length: 64 })
  updatedBy!: string;
}
