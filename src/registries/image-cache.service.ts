import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { PeriodicPass } from 'src/common/periodic-pass';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import type { CachedImageListResponseDto, ImageRemovalResponseDto, WorkspaceImageCacheResponseDto } from 'src/registries/dto/image-cache.dto';
import { imageCacheConfig } from 'src/registries/image-cache.config';
import { cachedImageView, removalView, workspaceImageView } from 'src/registries/image-cache.views';
import type { CachedImage, GrantRow, RemovalOutcome } from 'src/registries/image-inventory';
import { buildInventory, cachedBytes, gcPlan, pruneCandidates, removalOrder, repositoryOf } from 'src/registries/image-inventory';
import { CONTAINER_RUNTIME, ContainerRuntime, ImageSummary } from 'src/runtime/container-runtime.port';
import { RuntimeError } from 'src/runtime/runtime.errors';
import { PoliciesService } from 'src/policies/policies.service';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import type { TenantContext } from 'src/tenancy/tenant-context';

/** A recorded use is written at most this often per (workspace, repository, digest). */
export const USE_WRITE_EVERY_MS = 60_000;
/** Entries kept in memory for the use throttle before old ones are dropped. */
const USE_MEMORY_ENTRIES = 10_000;

/**
 * The engine's image cache as far as OrcaOps made it (issue 13 part 4): pulled images (a pull grant of
 * some workspace names their digest) and built images (build labels), with size and last use; prune; an
 * LRU collector under ORCAOPS_IMAGE_CACHE_BYTES; and a workspace's image bytes for its quota
 * (images.max_cache_mb). Never removes a standard image, an image a container uses (the engine refuses
 * anyway: removal is never forced) or an image with a name OrcaOps did not make.
 */
@Injectable()
export class ImageCacheService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ImageCache');
  private readonly lastWrites = new Map<string, number>();
  private readonly pass: PeriodicPass<RemovalOutcome | undefined>;

  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectScopedRepository(ImagePullGrantEntity) private readonly grants: TenantScopedRepository<ImagePullGrantEntity>,
    private readonly audit: AuditService,
    private readonly policies: PoliciesService,
    @Inject(imageCacheConfig.KEY) private readonly config: ConfigType<typeof imageCacheConfig>,
  ) {
    this.pass = new PeriodicPass<RemovalOutcome | undefined>({
      name: 'image cache collector',
      intervalMs: config.intervalMs,
      pass: () => this.collect(),
      fallback: undefined,
      logger: this.logger,
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.budgetBytes !== undefined) this.pass.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pass.stop();
  }

  async listView(workspaceId?: string): Promise<CachedImageListResponseDto> {
    const items = await this.inventory(workspaceId);
    return { items: items.map(cachedImageView), total_bytes: cachedBytes(items), budget_bytes: this.config.budgetBytes ?? null };
  }

  async pruneView(ctx: TenantContext, options: { dryRun: boolean; unusedForMs?: number }): Promise<ImageRemovalResponseDto> {
    return removalView(await this.prune(ctx, options), options.dryRun);
  }

  async gcView(ctx: TenantContext, options: { dryRun: boolean; budgetBytes?: number }): Promise<ImageRemovalResponseDto> {
    const outcome = await this.gc(ctx, options);
    return removalView(outcome, options.dryRun, outcome.budgetBytes);
  }

  async workspaceView(ctx: TenantContext): Promise<WorkspaceImageCacheResponseDto> {
    const { workspaceId } = requireWorkspace(ctx);
    const [images, policy] = await Promise.all([this.workspaceImages(workspaceId), this.policies.imagePolicy(workspaceId)]);
    return {
      items: images.map(workspaceImageView),
      used_bytes: images.reduce((sum, i) => sum + i.sizeBytes, 0),
      quota_bytes: policy.max_cache_mb === undefined ? null : policy.max_cache_mb * 1024 * 1024,
    };
  }

  /** Every image OrcaOps pulled or built (and the standard images), optionally only those of one workspace. */
  async inventory(workspaceId?: string): Promise<CachedImage[]> {
    const images = await this.runtime.listImages();
    const all = buildInventory(images, await this.grantsFor(images));
    return workspaceId ? all.filter((i) => i.workspaces.some((w) => w.workspaceId === workspaceId)) : all;
  }

  /** This workspace's images only as it may see them: its own names, its own last use, no other tenant. */
  async workspaceImages(workspaceId: string): Promise<CachedImage[]> {
    const images = await this.runtime.listImages();
    const digests = digestsOf(images);
    const mine = digests.length ? await this.grants.find(workspaceId, { where: { digest: In(digests) } }) : [];
    return buildInventory(images, mine.map(toRow))
      .filter((i) => i.kind !== 'standard' && i.workspaces.some((w) => w.workspaceId === workspaceId))
      .map((i) => ({ ...i, references: i.kind === 'pulled' ? i.ownedReferences : i.references, workspaces: i.workspaces.filter((w) => w.workspaceId === workspaceId) }));
  }

  /** Bytes this workspace's images take (each counted whole), leaving out `exceptImageId` (the image a pull is about). */
  async workspaceBytes(workspaceId: string, exceptImageId?: string): Promise<number> {
    return (await this.workspaceImages(workspaceId)).filter((i) => i.id !== exceptImageId).reduce((sum, i) => sum + i.sizeBytes, 0);
  }

  /** Removes every removable image (unused for at least `unusedForMs` when given); dry run: says which. */
  async prune(ctx: TenantContext, options: { dryRun: boolean; unusedForMs?: number }): Promise<RemovalOutcome> {
    const inventory = await this.inventory();
    const outcome = await this.removeAll(inventory, pruneCandidates(inventory, Date.now(), options.unusedForMs), options.dryRun);
    if (!options.dryRun) await this.audit.record(ctx, { action: 'image_cache.pruned', resourceType: 'image', details: auditDetails(outcome) });
    return outcome;
  }

  /** One collector pass down to `budgetBytes` (default the configured budget); dry run: says what it would remove. */
  async gc(ctx: TenantContext, options: { dryRun: boolean; budgetBytes?: number }): Promise<RemovalOutcome & { budgetBytes: number }> {
    const budgetBytes = options.budgetBytes ?? this.config.budgetBytes;
    if (budgetBytes === undefined) throw new OrcaOpsError('bad_request', 'No image cache budget: set ORCAOPS_IMAGE_CACHE_BYTES on the server or give budget_bytes');
    const inventory = await this.inventory();
    const outcome = await this.removeAll(inventory, gcPlan(inventory, budgetBytes, Date.now()), options.dryRun);
    if (!options.dryRun) await this.audit.record(ctx, { action: 'image_cache.collected', resourceType: 'image', details: { ...auditDetails(outcome), budget_bytes: budgetBytes } });
    return { ...outcome, budgetBytes };
  }

  /** The periodic pass (tests call it instead of waiting for the timer). */
  tick(): Promise<RemovalOutcome | undefined> {
    return this.pass.run();
  }

  /**
   * Records that a run of this workspace resolved the image: an UPDATE of the grant's last_used_at, at most
   * once a minute per image (the throttle lives in memory; a lost write only makes the image look older
   * by under a minute).
   */
  async markUsed(workspaceId: string, repository: string, digest: string): Promise<void> {
    const key = `${workspaceId}|${repository}|${digest}`;
    const now = Date.now();
    if (now - (this.lastWrites.get(key) ?? 0) < USE_WRITE_EVERY_MS) return;
    this.noteWritten(key, now);
    await this.grants.update(workspaceId, { repository, digest }, { lastUsedAt: new Date(now) }).catch((error: unknown) => {
      this.logger.warn({ msg: 'recording an image use failed', err: String(error) });
    });
  }

  /** A grant was just created (its last_used_at is its creation): the next minute's uses need no write. */
  noteGranted(workspaceId: string, repository: string, digest: string): void {
    this.noteWritten(`${workspaceId}|${repository}|${digest}`, Date.now());
  }

  /**
   * A pull that was refused after it ran (size or quota) leaves an image nobody may use: its names made by
   * the pull go again, unless some workspace holds a grant for it or a container uses it.
   */
  async discardUnclaimed(imageId: string, repository: string): Promise<void> {
    const image = (await this.runtime.listImages()).find((i) => i.id === imageId);
    if (!image || image.containers > 0) return;
    if ((await this.grantsFor([image])).length) return;
    const names = [...image.tags, ...image.repoDigests].filter((r) => repositoryOf(r) === repository);
    for (const name of names) {
      await this.runtime.removeImage(name).catch((error: unknown) => this.logger.warn({ msg: 'discarding a refused pull failed', reference: name, err: String(error) }));
    }
  }

  private async collect(): Promise<RemovalOutcome | undefined> {
    const budget = this.config.budgetBytes;
    if (budget === undefined) return undefined;
    const inventory = await this.inventory();
    const plan = gcPlan(inventory, budget, Date.now(), this.config.graceMs);
    if (!plan.length) return undefined;
    const outcome = await this.removeAll(inventory, plan, false);
    await this.audit.recordSystem(null, { action: 'image_cache.collected', resourceType: 'image', details: { ...auditDetails(outcome), budget_bytes: budget } });
    if (cachedBytes(inventory) - outcome.bytesFreed > budget) this.logger.warn({ msg: 'image cache above its budget after a pass (the rest is in use or kept)', budget_bytes: budget });
    return outcome;
  }

  private async removeAll(inventory: CachedImage[], plan: CachedImage[], dryRun: boolean): Promise<RemovalOutcome> {
    const before = cachedBytes(inventory);
    const outcome: RemovalOutcome = { removed: [], failed: [], bytesFreed: 0, totalBytesBefore: before, totalBytesAfter: before };
    for (const image of plan) {
      const error = dryRun ? undefined : await this.remove(image);
      if (error) outcome.failed.push({ image, error });
      else outcome.removed.push(image);
    }
    outcome.bytesFreed = outcome.removed.reduce((sum, i) => sum + i.sizeBytes, 0);
    outcome.totalBytesAfter = before - outcome.bytesFreed;
    return outcome;
  }

  /** Untags the names OrcaOps made; the engine deletes the image with its last name. Answers an error message or undefined. */
  private async remove(image: CachedImage): Promise<string | undefined> {
    try {
      for (const reference of removalOrder(image)) await this.runtime.removeImage(reference);
      this.logger.log({ msg: 'image removed from the cache', image: image.id, references: image.ownedReferences, size_bytes: image.sizeBytes });
      return undefined;
    } catch (error) {
      // A container created since the listing (the engine refuses to drop an image it uses), or engine trouble.
      return error instanceof RuntimeError ? `${error.code}: ${error.message}` : String(error);
    }
  }

  /** Grants of every workspace for the digests on the engine: an installation-wide listing for organisation admins and the collector. */
  private async grantsFor(images: ImageSummary[]): Promise<GrantRow[]> {
    const digests = digestsOf(images);
    if (!digests.length) return [];
    const rows = await this.dataSource.getRepository(ImagePullGrantEntity).find({ where: { digest: In(digests) } });
    return rows.map(toRow);
  }

  private noteWritten(key: string, now: number): void {
    if (this.lastWrites.size >= USE_MEMORY_ENTRIES) {
      for (const [k, at] of this.lastWrites) if (now - at >= USE_WRITE_EVERY_MS) this.lastWrites.delete(k);
      // Still full of recent entries: forget them all (the worst case is one extra UPDATE per image).
      if (this.lastWrites.size >= USE_MEMORY_ENTRIES) this.lastWrites.clear();
    }
    this.lastWrites.set(key, now);
  }
}

function digestsOf(images: ImageSummary[]): string[] {
  return [...new Set(images.flatMap((i) => i.repoDigests.map((d) => d.slice(d.indexOf('@') + 1)).filter((d) => d.startsWith('sha256:'))))];
}

function toRow(g: ImagePullGrantEntity): GrantRow {
  return { workspaceId: g.workspaceId, repository: g.repository, digest: g.digest, lastUsedAt: g.lastUsedAt };
}

function auditDetails(outcome: RemovalOutcome): Record<string, unknown> {
  return {
    removed: outcome.removed.map((i) => ({ id: i.id, references: i.ownedReferences, size_bytes: i.sizeBytes })),
    failed: outcome.failed.map((f) => ({ id: f.image.id, error: f.error.slice(0, 300) })),
    bytes_freed: outcome.bytesFreed,
  };
}
