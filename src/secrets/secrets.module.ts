import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { SecretBoxModule } from 'src/common/crypto/secret-box.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { PoliciesModule } from 'src/policies/policies.module';
import { OrganisationSecretEntity } from 'src/secrets/entities/organisation-secret.entity';
import { WorkspaceSecretEntity } from 'src/secrets/entities/workspace-secret.entity';
import { SecretsController } from 'src/secrets/secrets.controller';
import { SecretsService } from 'src/secrets/secrets.service';

/** Workspace and organisation secrets; jobs, sandboxes and workflows open them through SecretsService. */
@Module({
  imports: [TypeOrmModule.forFeature([WorkspaceSecretEntity, OrganisationSecretEntity]), AuditModule, PoliciesModule, SecretBoxModule],
  controllers: [SecretsController],
  providers: [
    SecretsService,
    // SecretBox comes from SecretBoxModule: the same box and key as registry credentials.
    provideScopedRepository(WorkspaceSecretEntity),
  ],
  exports: [SecretsService],
})
export class SecretsModule {}
