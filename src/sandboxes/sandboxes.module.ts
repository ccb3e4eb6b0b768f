import { Logger, Module } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { InstallationModule } from 'src/database/installation.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobsModule } from 'src/jobs/jobs.module';
import { QuotasModule } from 'src/quotas/quotas.module';
import { EgressModule } from 'src/egress/egress.module';
import { PoliciesModule } from 'src/policies/policies.module';
import { RegistriesModule } from 'src/registries/registries.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { SandboxCommandEntity } from 'src/sandboxes/history/sandbox-command.entity';
import { SandboxHistoryController } from 'src/sandboxes/history/sandbox-history.controller';
import { SandboxHistoryService } from 'src/sandboxes/history/sandbox-history.service';
import { SecretsModule } from 'src/secrets/secrets.module';
import { SANDBOX_INTERACTION_PROVIDERS, SandboxInteractionController } from 'src/sandboxes/interaction/sandbox-interaction.providers';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { PreviewGatewayController, PreviewsController } from 'src/sandboxes/previews/previews.controller';
import { PreviewProxy } from 'src/sandboxes/previews/preview-proxy.service';
import { PreviewsService } from 'src/sandboxes/previews/previews.service';
import { SandboxPreviewEntity } from 'src/sandboxes/previews/sandbox-preview.entity';
import { SandboxLifecycle } from 'src/sandboxes/sandbox-lifecycle.service';
import { SandboxNode } from 'src/sandboxes/sandbox-node';
import { loadSandboxProfiles, SandboxProfileCatalog } from 'src/sandboxes/sandbox-profiles';
import { SandboxProfilesService } from 'src/sandboxes/sandbox-profiles.service';
import { SandboxReads } from 'src/sandboxes/sandbox-reads.service';
import { SandboxReaperService } from 'src/sandboxes/sandbox-reaper.service';
import { sandboxesConfig } from 'src/sandboxes/sandboxes.config';
import { SandboxesController, SandboxProfilesController } from 'src/sandboxes/sandboxes.controller';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import { WorkspacesModule } from 'src/workspaces/workspaces.module';
import { SessionsCoreModule } from 'src/session-links/sessions-core.module';

/**
 * Sandbox resource and lifecycle. The interaction layer (exec, shells, processes, files) registers its
 * controllers here and reaches sandboxes only through SandboxesService.requireLive + SandboxActivity.
 */
@Module({
  imports: [
    ConfigModule.forFeature(sandboxesConfig),
    TypeOrmModule.forFeature([SandboxEntity, SandboxCommandEntity, SandboxPreviewEntity]),
    InstallationModule,
    RuntimeModule,
    AuditModule,
    WorkspacesModule,
    JobsModule,
    QuotasModule,
    PoliciesModule,
    RegistriesModule,
    EgressModule,
    SessionsCoreModule,
    SecretsModule,
  ],
  controllers: [SandboxesController, SandboxProfilesController, SandboxInteractionController, SandboxHistoryController, PreviewsController, PreviewGatewayController],
  providers: [
    SandboxesService,
    SandboxProfilesService,
    SandboxLifecycle,
    SandboxReaperService,
    WarmPoolService,
    SandboxActivity,
    SandboxNode,
    SandboxReads,
    {
      // Loaded once at boot: an invalid sandboxes.yml stops the server with file, profile and field named.
      provide: SandboxProfileCatalog,
      inject: [sandboxesConfig.KEY],
      useFactory: (config: ConfigType<typeof sandboxesConfig>) =>
        new SandboxProfileCatalog(
          loadSandboxProfiles(config.profilesFile, config.profilesFileRequired, (message) => new Logger('SandboxProfiles').warn(message)),
        ),
    },
    provideScopedRepository(SandboxEntity),
    provideScopedRepository(SandboxCommandEntity),
    provideScopedRepository(SandboxPreviewEntity),
    PreviewsService,
    PreviewProxy,
    SandboxHistoryService,
    ...SANDBOX_INTERACTION_PROVIDERS,
  ],
  exports: [SandboxesService, SandboxActivity, SandboxReads, SandboxHistoryService, PreviewsService, PreviewProxy, ...SANDBOX_INTERACTION_PROVIDERS],
})
export class SandboxesModule {}
