import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { DatabaseModule } from 'src/database/database.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobApprovalsService } from 'src/jobs/job-approvals.service';
import { JobEvents } from 'src/jobs/job-events';
import { JobLogsService } from 'src/jobs/job-logs.service';
import { JobReconcilerService } from 'src/jobs/job-reconciler.service';
import { JobRunnerService } from 'src/jobs/job-runner.service';
import { JobStepDrivers } from 'src/jobs/job-step-driver';
import { jobsConfig } from 'src/jobs/jobs.config';
import { JobsController } from 'src/jobs/jobs.controller';
import { JobsService } from 'src/jobs/jobs.service';
import { QuotasModule } from 'src/quotas/quotas.module';
import { QueueModule } from 'src/queue/queue.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { StorageModule } from 'src/storage/storage.module';
import { ConfigModule } from '@nestjs/config';
import { WorkspacesModule } from 'src/workspaces/workspaces.module';
import { PoliciesModule } from 'src/policies/policies.module';
import { SessionsCoreModule } from 'src/sessions/sessions-core.module';

@Module({
  imports: [
    ConfigModule.forFeature(jobsConfig),
    TypeOrmModule.forFeature([JobEntity, JobLogChunkEntity, JobArtifactEntity]),
    DatabaseModule,
    RuntimeModule,
    QueueModule,
    StorageModule,
    AuditModule,
    WorkspacesModule,
    QuotasModule,
    PoliciesModule,
    SessionsCoreModule,
  ],
  controllers: [JobsController],
  providers: [
    JobsService,
    JobRunnerService,
    JobReconcilerService,
    JobLogsService,
    JobEvents,
    JobApprovalsService,
    JobStepDrivers,
    provideScopedRepository(JobEntity),
    provideScopedRepository(JobLogChunkEntity),
    provideScopedRepository(JobArtifactEntity),
  ],
  exports: [JobsService, JobApprovalsService, JobStepDrivers],
})
export class JobsModule {}
