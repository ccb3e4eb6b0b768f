import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';

export class ListCachedImagesQueryDto {
  /** Only the images this workspace pulled or built. */
  @IsOptional() @IsUUID()
  workspace_id?: string;
}

/** No query parameters: a workspace sees its own images only, and a workspace id here is refused. */
export class WorkspaceImageCacheQueryDto {}

export class PruneImagesDto {
  /** List what would be removed, remove nothing. */
  @IsOptional() @IsBoolean()
  dry_run?: boolean;

  /** Only images whose last use is at least this old. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(3_650 * 86_400)
  unused_for_seconds?: number;
}

export class CollectImagesDto {
  /** List what would be removed, remove nothing. */
  @IsOptional() @IsBoolean()
  dry_run?: boolean;

  /** The budget of this pass; default ORCAOPS_IMAGE_CACHE_BYTES. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER)
  budget_bytes?: number;
}

export class CachedImageWorkspaceDto {
  workspace_id!: string;
  last_used_at!: string;
}

export class CachedImageResponseDto {
  /** Engine image id (sha256:…). */
  id!: string;
  /** `pulled` (a workspace's pull grant names its digest), `built` (a workspace's Dockerfile build) or `standard` (never removed). */
  kind!: 'pulled' | 'built' | 'standard';
  /** Its names on the engine. */
  references!: string[];
  size_bytes!: number;
  created_at!: string;
  /** Latest recorded use (written at most once a minute per image); the creation time when none was recorded. */
  last_used_at!: string;
  workspaces!: CachedImageWorkspaceDto[];
  /** Containers (any state) created from it, and those running. */
  containers!: number;
  running_containers!: number;
  /** Why prune and the collector leave it alone: `standard`, `in_use` or `foreign_reference` (a name OrcaOps did not make); null: removable. */
  keep!: 'standard' | 'in_use' | 'foreign_reference' | null;
}

export class CachedImageListResponseDto {
  items!: CachedImageResponseDto[];
  /** Bytes of every pulled and built image (each counted once; the budget counts the same). */
  total_bytes!: number;
  /** ORCAOPS_IMAGE_CACHE_BYTES, or null when no collector runs. */
  budget_bytes!: number | null;
}

export class ImageRemovalFailureDto {
  id!: string;
  error!: string;
}

export class ImageRemovalResponseDto {
  dry_run!: boolean;
  /** Removed (or, with dry_run, that would be). */
  removed!: CachedImageResponseDto[];
  failed!: ImageRemovalFailureDto[];
  bytes_freed!: number;
  total_bytes_before!: number;
  total_bytes_after!: number;
  /** The budget a collector pass worked to (gc only). */
  budget_bytes?: number;
}

export class WorkspaceCachedImageDto {
  id!: string;
  kind!: 'pulled' | 'built';
  /** This workspace's names of the image. */
  references!: string[];
  size_bytes!: number;
  /** This workspace's latest recorded use. */
  last_used_at!: string;
}

export class WorkspaceImageCacheResponseDto {
  items!: WorkspaceCachedImageDto[];
  /** Bytes these images take, each counted whole (shared layers are counted for every image and workspace). */
  used_bytes!: number;
  /** images.max_cache_mb in bytes, or null when the policy sets none. */
  quota_bytes!: number | null;
}
