import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * A workspace's credentials for one registry host. The password is sealed (SecretBox, AES-256-GCM, the
 * workspace id and host authenticated with it) and never leaves the server: the API returns host and
 * username only, and the puller opens it for that workspace's pulls from that host.
 */
@Entity({ name: 'registry_credentials' })
@Index(['workspaceId', 'host'], { unique: true })
export class RegistryCredentialEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  /** Registry host[:port] as image references name it (`ghcr.io`, `registry.example.com:5000`, `docker.io`). */
  @Column({ type: 'varchar', length: 255 })
  host!: string;

  @Column({ type: 'varchar', length: 255 })
  username!: string;

  @Column({ name: 'sealed_password', type: 'text' })
  sealedPassword!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;
}
