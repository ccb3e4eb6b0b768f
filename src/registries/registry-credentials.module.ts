import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { SecretBoxModule } from 'src/common/crypto/secret-box.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { RegistryCredentialEntity } from 'src/registries/entities/registry-credential.entity';
import { RegistryCredentialsController } from 'src/registries/registry-credentials.controller';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';

/**
 * Workspace registry credentials alone (no engine): RegistriesModule builds the puller on it, and the
 * operator CLI (admin rotate-secrets-key) re-seals the passwords through it without a container runtime.
 */
@Module({
  imports: [TypeOrmModule.forFeature([RegistryCredentialEntity]), AuditModule, SecretBoxModule],
  controllers: [RegistryCredentialsController],
  providers: [RegistryCredentialsService, provideScopedRepository(RegistryCredentialEntity)],
  exports: [RegistryCredentialsService],
})
export class RegistryCredentialsModule {}
