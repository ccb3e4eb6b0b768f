import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { SecretBox } from 'src/common/crypto/secret-box';
import { SECRETS_KEYS, secretsKeysProvider, SecretsKeysLoader } from 'src/config/secrets-key';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { PoliciesModule } from 'src/policies/policies.module';
import { OrganisationSecretEntity } from 'src/secrets/entities/organisation-secret.entity';
import { WorkspaceSecretEntity } from 'src/secrets/entities/workspace-secret.entity';
import { SecretsController } from 'src/secrets/secrets.controller';
import { SecretsService } from 'src/secrets/secrets.service';

/** Workspace and organisation secrets; jobs, sandboxes and workflows open them through SecretsService. */
@Module({
  imports: [TypeOrmModule.forFeature([WorkspaceSecretEntity, OrganisationSecretEntity]), AuditModule, PoliciesModule],
  controllers: [SecretsController],
  providers: [
    SecretsService,
    secretsKeysProvider,
    // The key file is read (or created) on first use, not at boot.
    { provide: SecretBox, inject: [SECRETS_KEYS], useFactory: (keys: SecretsKeysLoader) => new SecretBox(keys) },
    provideScopedRepository(WorkspaceSecretEntity),
  ],
  exports: [SecretsService],
})
export class SecretsModule {}
