import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { ApprovalRequestsService } from 'src/policies/approval-requests.service';
import { ApprovalRequestEntity } from 'src/policies/entities/approval-request.entity';
import { OrganisationPolicyEntity } from 'src/policies/entities/organisation-policy.entity';
import { WorkspacePolicyEntity } from 'src/policies/entities/workspace-policy.entity';
import { PoliciesController } from 'src/policies/policies.controller';
import { PoliciesService } from 'src/policies/policies.service';
import { WorkspacesModule } from 'src/workspaces/workspaces.module';

/**
 * Security policies and approval request rows. Below jobs and sandboxes in the module graph: they call
 * PoliciesService.admit before any container starts, and open approval requests in their transactions.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([OrganisationPolicyEntity, WorkspacePolicyEntity, ApprovalRequestEntity]),
    AuditModule,
    WorkspacesModule,
  ],
  controllers: [PoliciesController],
  providers: [PoliciesService, ApprovalRequestsService, provideScopedRepository(WorkspacePolicyEntity), provideScopedRepository(ApprovalRequestEntity)],
  exports: [PoliciesService, ApprovalRequestsService],
})
export class PoliciesModule {}
