import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobsModule } from 'src/jobs/jobs.module';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { SessionReaperService } from 'src/sessions/session-reaper.service';
import { SessionView } from 'src/sessions/session-view.service';
import { SessionsController } from 'src/sessions/sessions.controller';
import { SessionsCoreModule } from 'src/session-links/sessions-core.module';
import { SessionsService } from 'src/sessions/sessions.service';
import { WorkflowsModule } from 'src/workflows/workflows.module';

/**
 * The top half of sessions (above jobs, sandboxes and workflows): the REST resource, the view with spend,
 * end with cleanup and the idle reaper. Jobs, sandboxes and workflow runs are read through their
 * features' read services and changed only through their services: this module registers no other
 * feature's repositories.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([AgentSessionEntity]),
    AuditModule,
    SessionsCoreModule,
    JobsModule,
    SandboxesModule,
    WorkflowsModule,
  ],
  controllers: [SessionsController],
  exports: [SessionsService],
  providers: [
    SessionsService,
    SessionView,
    SessionReaperService,
    provideScopedRepository(AgentSessionEntity),
  ],
})
export class SessionsModule {}
