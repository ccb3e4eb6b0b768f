import type { CachedImageResponseDto, ImageRemovalResponseDto, WorkspaceCachedImageDto } from 'src/registries/dto/image-cache.dto';
import type { CachedImage, RemovalOutcome } from 'src/registries/image-inventory';

export function cachedImageView(i: CachedImage): CachedImageResponseDto {
  return {
    id: i.id,
    kind: i.kind,
    references: i.references,
    size_bytes: i.sizeBytes,
    created_at: i.createdAt.toISOString(),
    last_used_at: i.lastUsedAt.toISOString(),
    workspaces: i.workspaces.map((w) => ({ workspace_id: w.workspaceId, last_used_at: w.lastUsedAt.toISOString() })),
    containers: i.containers,
    running_containers: i.runningContainers,
    keep: i.keep,
  };
}

export function removalView(outcome: RemovalOutcome, dryRun: boolean, budgetBytes?: number): ImageRemovalResponseDto {
  return {
    dry_run: dryRun,
    removed: outcome.removed.map(cachedImageView),
    failed: outcome.failed.map((f) => ({ id: f.image.id, error: f.error })),
    bytes_freed: outcome.bytesFreed,
    total_bytes_before: outcome.totalBytesBefore,
    total_bytes_after: outcome.totalBytesAfter,
    ...(budgetBytes === undefined ? {} : { budget_bytes: budgetBytes }),
  };
}

export function workspaceImageView(i: CachedImage): WorkspaceCachedImageDto {
  return {
    id: i.id,
    kind: i.kind === 'built' ? 'built' : 'pulled',
    references: i.references,
    size_bytes: i.sizeBytes,
    last_used_at: (i.workspaces[0]?.lastUsedAt ?? i.lastUsedAt).toISOString(),
  };
}
