import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

/**
 * An image digest this workspace may run because one of its own pulls fetched it (with its own
 * credentials, or anonymously) from `repository`. The engine's image cache is shared by every
 * workspace: an image another workspace pulled is used only after this workspace's own authorised
 * pull (issue 13 part 2), checked on every use.
 */
@Entity({ name: 'image_pull_grants' })
@Index(['workspaceId', 'repository', 'digest'], { unique: true })
export class ImagePullGrantEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  /** Normalised `registry/path` (image-reference.ts). */
  @Column({ type: 'varchar', length: 255 })
  repository!: string;

  @Column({ type: 'varchar', length: 71 })
  digest!: string;

  /**
   * When a run of this workspace last resolved this image (set by the pull, then at most once a minute
   * per image by ImagePuller): the image cache's LRU order (docs/images.md, "Image cache").
   */
  @Column({ name: 'last_used_at', type: 'timestamptz', default: () => 'now()' })
  lastUsedAt!: Date;
}
