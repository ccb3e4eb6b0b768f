import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { PoliciesModule } from 'src/policies/policies.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import { AdminImageCacheController, WorkspaceImageCacheController } from 'src/registries/image-cache.controller';
import { imageCacheConfig } from 'src/registries/image-cache.config';
import { ImageCacheService } from 'src/registries/image-cache.service';
import { ImagePuller } from 'src/registries/image-puller.service';
import { RegistryCredentialsModule } from 'src/registries/registry-credentials.module';

/**
 * Images from registries (issue 13 parts 1–2): workspace registry credentials and the image puller
 * that jobs (and through them workflows) call before creating a container; the image cache (part 4:
 * listing, prune, the LRU collector and the per-workspace image bytes quota).
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([ImagePullGrantEntity]),
    ConfigModule.forFeature(imageCacheConfig),
    AuditModule,
    PoliciesModule,
    RuntimeModule,
    RegistryCredentialsModule,
  ],
  controllers: [AdminImageCacheController, WorkspaceImageCacheController],
  providers: [ImagePuller, ImageCacheService, provideScopedRepository(ImagePullGrantEntity)],
  exports: [RegistryCredentialsModule, ImagePuller, ImageCacheService],
})
export class RegistriesModule {}
