import { EgressModule } from 'src/egress/egress.module';
import { Module } from '@nestjs/common';
import { ApprovalExpiryService } from 'src/approvals/approval-expiry.service';
import { ApprovalsController } from 'src/approvals/approvals.controller';
import { ApprovalsService } from 'src/approvals/approvals.service';
import { PolicyEvaluationController } from 'src/approvals/policy-evaluation.controller';
import { AuditModule } from 'src/audit/audit.module';
import { JobsModule } from 'src/jobs/jobs.module';
import { PoliciesModule } from 'src/policies/policies.module';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';

/**
 * Approval decisions and the policy dry run. Above jobs and sandboxes in the module graph: a decision
 * releases or cancels the waiting job through JobApprovalsService; nothing below imports this module.
 */
@Module({
  imports: [AuditModule, PoliciesModule, EgressModule, JobsModule, SandboxesModule],
  controllers: [ApprovalsController, PolicyEvaluationController],
  providers: [ApprovalsService, ApprovalExpiryService],
})
export class ApprovalsModule {}
