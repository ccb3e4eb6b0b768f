import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

export const IMAGE_BUILD_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type ImageBuildStatus = (typeof IMAGE_BUILD_STATUSES)[number];

const bigintOrNull = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/**
 * One Dockerfile build of a workspace image (issue 13 part 3): what was asked, its state, its output
 * (masked and capped) and the image it made. The image on the engine carries the workspace and this
 * build's id as labels (src/registries/workspace-images.ts).
 */
@Entity({ name: 'image_builds' })
@Index(['workspaceId', 'createdAt'])
export class ImageBuildEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  /** `orcaops-ws-<12 hex>/<name>:<tag>`: the reference jobs, sandboxes and workflows of this workspace use. */
  @Column({ type: 'varchar', length: 255 })
  image!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 128 })
  tag!: string;

  /** Path of the Dockerfile inside the context. */
  @Column({ type: 'varchar', length: 255 })
  dockerfile!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: ImageBuildStatus;

  @Column({ name: 'context_bytes', type: 'integer' })
  contextBytes!: number;

  /** The engine's image id (sha256:…, the digest of the image config) once built. */
  @Column({ type: 'varchar', length: 80, nullable: true })
  digest!: string | null;

  @Column({ name: 'size_bytes', type: 'bigint', nullable: true, transformer: bigintOrNull })
  sizeBytes!: number | null;

  /** The build output, secrets masked, at most IMAGE_BUILD_LIMITS.logBytes (the head is kept). */
  @Column({ type: 'text', default: '' })
  log!: string;

  @Column({ name: 'log_truncated', type: 'boolean', default: false })
  logTruncated!: boolean;

  /** Why the build failed, one line. */
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** Token that asked for the build. */
  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;

  /** The server process running it: a queued or running build of another (earlier) process was interrupted. */
  @Column({ type: 'varchar', length: 36 })
  runner!: string;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
