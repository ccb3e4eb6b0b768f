import { Module } from '@nestjs/common';
import { AuditModule } from 'src/audit/audit.module';
import { WorkStopperService } from 'src/governance/work-stopper.service';
import { JobsModule } from 'src/jobs/jobs.module';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { WorkspacesModule } from 'src/workspaces/workspaces.module';

/**
 * Above jobs, sandboxes and workflows: reacts to workspace lifecycle events (suspend, archive, token
 * revocation) by stopping the running work through their services. Nothing imports this module.
 */
@Module({
  imports: [AuditModule, WorkspacesModule, JobsModule, SandboxesModule, WorkflowsModule],
  providers: [WorkStopperService],
})
export class GovernanceModule {}
