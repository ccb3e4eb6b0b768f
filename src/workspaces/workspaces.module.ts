import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { QuotasModule } from 'src/quotas/quotas.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { TenancyModule } from 'src/tenancy/tenancy.module';
import { AdminTokensService } from 'src/workspaces/admin-tokens.service';
import { ApiTokensController } from 'src/workspaces/api-tokens.controller';
import { ApiTokensService } from 'src/workspaces/api-tokens.service';
import { AdminTokenEntity } from 'src/tenancy/entities/admin-token.entity';
import { ApiTokenEntity } from 'src/tenancy/entities/api-token.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';
import { MeController } from 'src/workspaces/me.controller';
import { WorkspacesController } from 'src/workspaces/workspaces.controller';
import { WorkspaceLifecycle } from 'src/workspaces/workspace-lifecycle';
import { WorkspacesService } from 'src/workspaces/workspaces.service';

@Module({
  imports: [TypeOrmModule.forFeature([WorkspaceEntity, ApiTokenEntity, AdminTokenEntity]), AuditModule, TenancyModule, QuotasModule],
  controllers: [WorkspacesController, ApiTokensController, MeController],
  providers: [WorkspacesService, ApiTokensService, AdminTokensService, WorkspaceLifecycle, provideScopedRepository(ApiTokenEntity)],
  exports: [WorkspacesService, ApiTokensService, AdminTokensService, WorkspaceLifecycle],
})
export class WorkspacesModule {}
