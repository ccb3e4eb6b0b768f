import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CachedImageListResponseDto,
  CollectImagesDto,
  ImageRemovalResponseDto,
  ListCachedImagesQueryDto,
  PruneImagesDto,
  WorkspaceImageCacheQueryDto,
  WorkspaceImageCacheResponseDto,
} from 'src/registries/dto/image-cache.dto';
import { ImageCacheService } from 'src/registries/image-cache.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

/** The engine's image cache for operators: what OrcaOps pulled or built, prune, and a collector pass. */
@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/admin/images')
export class AdminImageCacheController {
  constructor(private readonly cache: ImageCacheService) {}

  @Get()
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'listCachedImages', summary: 'Images OrcaOps pulled or built on the engine, by workspace, with size and last use (organisation admin)' })
  list(@Query() q: ListCachedImagesQueryDto): Promise<CachedImageListResponseDto> {
    return this.cache.listView(q.workspace_id);
  }

  @Post('prune')
  @HttpCode(200)
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'pruneCachedImages', summary: 'Remove pulled and built images no container uses (organisation admin; audited)' })
  prune(@Tenant() ctx: TenantContext, @Body() dto: PruneImagesDto): Promise<ImageRemovalResponseDto> {
    return this.cache.pruneView(ctx, { dryRun: dto.dry_run ?? false, unusedForMs: dto.unused_for_seconds === undefined ? undefined : dto.unused_for_seconds * 1000 });
  }

  @Post('gc')
  @HttpCode(200)
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'collectCachedImages', summary: 'Remove least recently used images until the cache fits its budget (organisation admin; audited)' })
  gc(@Tenant() ctx: TenantContext, @Body() dto: CollectImagesDto): Promise<ImageRemovalResponseDto> {
    return this.cache.gcView(ctx, { dryRun: dto.dry_run ?? false, budgetBytes: dto.budget_bytes });
  }
}

/** A workspace's own images in the cache and its image bytes quota. */
@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images/cache')
export class WorkspaceImageCacheController {
  constructor(private readonly cache: ImageCacheService) {}

  @Get()
  @RequirePermission('workspace:read')
  @ApiOperation({ operationId: 'getWorkspaceImageCache', summary: "This workspace's pulled and built images on the engine, their bytes and its image quota (images.max_cache_mb)" })
  get(@Tenant() ctx: TenantContext, @Query() _q: WorkspaceImageCacheQueryDto): Promise<WorkspaceImageCacheResponseDto> {
    return this.cache.workspaceView(ctx);
  }
}
