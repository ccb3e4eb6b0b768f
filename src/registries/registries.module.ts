import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { SecretBoxModule } from 'src/common/crypto/secret-box.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { PoliciesModule } from 'src/policies/policies.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import { RegistryCredentialEntity } from 'src/registries/entities/registry-credential.entity';
import { ImagePuller } from 'src/registries/image-puller.service';
import { RegistryCredentialsController } from 'src/registries/registry-credentials.controller';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';

/**
 * Images from registries (issue 13 parts 1–2): workspace registry credentials and the image puller
 * that jobs (and through them workflows) call before creating a container.
 */
@Module({
  imports: [TypeOrmModule.forFeature([RegistryCredentialEntity, ImagePullGrantEntity]), AuditModule, PoliciesModule, RuntimeModule, SecretBoxModule],
  controllers: [RegistryCredentialsController],
  providers: [RegistryCredentialsService, ImagePuller, provideScopedRepository(RegistryCredentialEntity), provideScopedRepository(ImagePullGrantEntity)],
  exports: [RegistryCredentialsService, ImagePuller],
})
export class RegistriesModule {}
