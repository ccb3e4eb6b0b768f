import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { PoliciesModule } from 'src/policies/policies.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import { ImagePuller } from 'src/registries/image-puller.service';
import { RegistryCredentialsModule } from 'src/registries/registry-credentials.module';

/**
 * Images from registries (issue 13 parts 1–2): workspace registry credentials and the image puller
 * that jobs (and through them workflows) call before creating a container.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ImagePullGrantEntity]), AuditModule, PoliciesModule, RuntimeModule, RegistryCredentialsModule],
  providers: [ImagePuller, provideScopedRepository(ImagePullGrantEntity)],
  exports: [RegistryCredentialsModule, ImagePuller],
})
export class RegistriesModule {}
