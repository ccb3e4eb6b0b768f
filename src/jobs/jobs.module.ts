import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { InstallationModule } from 'src/database/installation.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobSummaryEntity } from 'src/jobs/entities/job-summary.entity';
import { JobSummaries } from 'src/jobs/job-summaries.service';
import { LOG_MASKER, WorkspaceSecretsLogMasker } from 'src/jobs/log-masker';
import { JobAdmission } from 'src/jobs/job-admission.service';
import { JobAggregates } from 'src/jobs/job-aggregates';
import { JobApprovalsService } from 'src/jobs/job-approvals.service';
import { JobArtifactCollector } from 'src/jobs/job-artifacts';
import { JOB_DISPATCH } from 'src/jobs/job-dispatch';
import { JobEvents } from 'src/jobs/job-events';
import { JobExecutor } from 'src/jobs/job-executor';
import { JobFinisher } from 'src/jobs/job-finisher';
import { JobReads } from 'src/jobs/job-reads.service';
import { JobLogsService } from 'src/jobs/job-logs.service';
import { JobMetrics } from 'src/jobs/job-metrics';
import { JobReconcilerService } from 'src/jobs/job-reconciler.service';
import { JobRunnerService } from 'src/jobs/job-runner.service';
import { JobSampler } from 'src/jobs/job-sampler';
import { JobSlots } from 'src/jobs/job-slots';
import { JobStepDrivers } from 'src/jobs/job-step-driver';
import { jobsConfig } from 'src/jobs/jobs.config';
import { JobsController } from 'src/jobs/jobs.controller';
import { JobsService } from 'src/jobs/jobs.service';
import { RunSearchController } from 'src/jobs/records/run-search.controller';
import { RunSearchService } from 'src/jobs/records/run-search.service';
import { QuotasModule } from 'src/quotas/quotas.module';
import { QueueModule } from 'src/queue/queue.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { LearningModule } from 'src/learning/learning.module';
import { RegistriesModule } from 'src/registries/registries.module';
import { StorageModule } from 'src/storage/storage.module';
import { ConfigModule } from '@nestjs/config';
import { WorkspacesModule } from 'src/workspaces/workspaces.module';
import { PoliciesModule } from 'src/policies/policies.module';
import { EgressModule } from 'src/egress/egress.module';
import { SecretsModule } from 'src/secrets/secrets.module';
import { SessionsCoreModule } from 'src/session-links/sessions-core.module';

@Module({
  imports: [
    ConfigModule.forFeature(jobsConfig),
    TypeOrmModule.forFeature([JobEntity, JobLogChunkEntity, JobArtifactEntity, JobSummaryEntity]),
    InstallationModule,
    RuntimeModule,
    QueueModule,
    StorageModule,
    AuditModule,
    WorkspacesModule,
    QuotasModule,
    PoliciesModule,
    RegistriesModule,
    LearningModule,
    EgressModule,
    SecretsModule,
    SessionsCoreModule,
  ],
  // RunSearchController first: its static paths (search, export) sit beside JobsController's /:jobId.
  controllers: [RunSearchController, JobsController],
  providers: [
    JobsService,
    JobAdmission,
    JobRunnerService,
    // The runner's units (job-runner.service.ts orchestrates them); other services reach it only through JOB_DISPATCH.
    JobSlots,
    JobExecutor,
    JobArtifactCollector,
    JobSampler,
    JobFinisher,
    JobMetrics,
    { provide: JOB_DISPATCH, useExisting: JobRunnerService },
    JobReconcilerService,
    JobLogsService,
    JobEvents,
    JobApprovalsService,
    JobStepDrivers,
    JobReads,
    JobSummaries,
    // The secrets seam for summaries (log-masker.ts). Workspace secrets are already masked when output is
    // written (JobLogWriter with SecretsService.resolve's masker), so summaries read masked output; this
    // provider adds the env-value masking on top.
    { provide: LOG_MASKER, useClass: WorkspaceSecretsLogMasker },
    JobAggregates,
    RunSearchService,
    provideScopedRepository(JobEntity),
    provideScopedRepository(JobSummaryEntity),
    provideScopedRepository(JobLogChunkEntity),
    provideScopedRepository(JobArtifactEntity),
  ],
  exports: [JobsService, JobApprovalsService, JobStepDrivers, JobReads, JobAggregates, RunSearchService],
})
export class JobsModule {}
