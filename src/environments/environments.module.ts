import { Module } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { readFileSync, existsSync } from 'node:fs';
import { AuditModule } from 'src/audit/audit.module';
import { InstallationModule } from 'src/database/installation.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { EnvironmentEntity } from 'src/environments/entities/environment.entity';
import { parseEnvironmentTemplates } from 'src/environments/environment-definition';
import { EnvironmentLifecycle } from 'src/environments/environment-lifecycle.service';
import { EnvironmentReaperService } from 'src/environments/environment-reaper.service';
import { EnvironmentTemplateCatalog } from 'src/environments/environment-templates';
import { EnvironmentsController, EnvironmentTemplatesController } from 'src/environments/environments.controller';
import { EnvironmentsService } from 'src/environments/environments.service';
import { PoliciesModule } from 'src/policies/policies.module';
import { sandboxesConfig } from 'src/sandboxes/sandboxes.config';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';
import { ServicesRuntimeModule } from 'src/services-runtime/services-runtime.module';

/** Environments (docs/environments.md): a sandbox plus companion services, through SandboxesService and ServiceContainers. */
@Module({
  imports: [
    ConfigModule.forFeature(sandboxesConfig),
    TypeOrmModule.forFeature([EnvironmentEntity]),
    InstallationModule,
    AuditModule,
    PoliciesModule,
    SandboxesModule,
    ServicesRuntimeModule,
  ],
  controllers: [EnvironmentsController, EnvironmentTemplatesController],
  providers: [
    EnvironmentsService,
    EnvironmentLifecycle,
    EnvironmentReaperService,
    provideScopedRepository(EnvironmentEntity),
    {
      // The `environments:` section of the same sandboxes.yml, loaded once at boot: a bad template stops the server naming key and line.
      provide: EnvironmentTemplateCatalog,
      inject: [sandboxesConfig.KEY],
      useFactory: (config: ConfigType<typeof sandboxesConfig>) =>
        new EnvironmentTemplateCatalog(existsSync(config.profilesFile) ? parseEnvironmentTemplates(readFileSync(config.profilesFile, 'utf8'), config.profilesFile) : []),
    },
  ],
  exports: [EnvironmentsService],
})
export class EnvironmentsModule {}
