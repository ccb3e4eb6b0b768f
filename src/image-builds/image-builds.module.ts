import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { ImageBuildEntity } from 'src/image-builds/entities/image-build.entity';
import { ImageBuildsController } from 'src/image-builds/image-builds.controller';
import { ImageBuildsService } from 'src/image-builds/image-builds.service';
import { PoliciesModule } from 'src/policies/policies.module';
import { RegistriesModule } from 'src/registries/registries.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { SecretsModule } from 'src/secrets/secrets.module';

/** Workspace images built from a Dockerfile (issue 13 part 3): the build records, the builds, their logs. */
@Module({
  imports: [TypeOrmModule.forFeature([ImageBuildEntity]), AuditModule, PoliciesModule, RuntimeModule, RegistriesModule, SecretsModule],
  controllers: [ImageBuildsController],
  providers: [ImageBuildsService, provideScopedRepository(ImageBuildEntity)],
  exports: [ImageBuildsService],
})
export class ImageBuildsModule {}
