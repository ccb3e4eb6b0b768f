import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobsModule } from 'src/jobs/jobs.module';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';
import { AgentSessionEntity } from 'src/sessions/entities/agent-session.entity';
import { SessionReaperService } from 'src/sessions/session-reaper.service';
import { SessionsController } from 'src/sessions/sessions.controller';
import { SessionsCoreModule } from 'src/sessions/sessions-core.module';
import { SessionsService } from 'src/sessions/sessions.service';

/**
 * The top half of sessions (above jobs and sandboxes): the REST resource, the view with spend, end with
 * cleanup and the idle reaper. Jobs and sandboxes are read here for the view and changed only through
 * their services.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([AgentSessionEntity, JobEntity, SandboxEntity, JobArtifactEntity]),
    AuditModule,
    SessionsCoreModule,
    JobsModule,
    SandboxesModule,
  ],
  controllers: [SessionsController],
  providers: [
    SessionsService,
    SessionReaperService,
    provideScopedRepository(AgentSessionEntity),
    provideScopedRepository(JobEntity),
    provideScopedRepository(SandboxEntity),
    provideScopedRepository(JobArtifactEntity),
  ],
})
export class SessionsModule {}
