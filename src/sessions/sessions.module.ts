import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobsModule } from 'src/jobs/jobs.module';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { SessionReaperService } from 'src/sessions/session-reaper.service';
import { SessionsController } from 'src/sessions/sessions.controller';
import { SessionsCoreModule } from 'src/session-links/sessions-core.module';
import { SessionsService } from 'src/sessions/sessions.service';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import { WorkflowsModule } from 'src/workflows/workflows.module';

/**
 * The top half of sessions (above jobs, sandboxes and workflows): the REST resource, the view with spend,
 * end with cleanup and the idle reaper. Jobs, sandboxes and workflow runs are read here for the view and
 * changed only through their services.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([AgentSessionEntity, JobEntity, SandboxEntity, JobArtifactEntity, WorkflowRunEntity, WorkflowInstanceEntity]),
    AuditModule,
    SessionsCoreModule,
    JobsModule,
    SandboxesModule,
    WorkflowsModule,
  ],
  controllers: [SessionsController],
  providers: [
    SessionsService,
    SessionReaperService,
    provideScopedRepository(AgentSessionEntity),
    provideScopedRepository(JobEntity),
    provideScopedRepository(SandboxEntity),
    provideScopedRepository(JobArtifactEntity),
    provideScopedRepository(WorkflowRunEntity),
    provideScopedRepository(WorkflowInstanceEntity),
  ],
})
export class SessionsModule {}
