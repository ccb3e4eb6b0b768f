import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { DatabaseModule } from 'src/database/database.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { jobsConfig } from 'src/jobs/jobs.config';
import { JobsModule } from 'src/jobs/jobs.module';
import { PoliciesModule } from 'src/policies/policies.module';
import { QuotasModule } from 'src/quotas/quotas.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { StorageModule } from 'src/storage/storage.module';
import { SessionsCoreModule } from 'src/sessions/sessions-core.module';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import { WorkflowSourceEntity } from 'src/workflows/entities/workflow-source.entity';
import { WorkflowInstanceStore } from 'src/workflows/runner/workflow-instance-store';
import { WorkflowRunnerService } from 'src/workflows/runner/workflow-runner.service';
import { WorkflowServices } from 'src/workflows/runner/workflow-services';
import { WorkflowArtifacts } from 'src/workflows/runner/workflow-artifacts';
import { WorkflowStepDriver } from 'src/workflows/runner/workflow-step-driver';
import { WorkflowSourcesController } from 'src/workflows/sources/workflow-sources.controller';
import { WorkflowSourcesService } from 'src/workflows/sources/workflow-sources.service';
import { WorkflowsController } from 'src/workflows/workflows.controller';
import { WorkflowRetentionService } from 'src/workflows/workflow-retention.service';
import { WorkflowRunEvents } from 'src/workflows/workflow-run-events';
import { WorkflowsService } from 'src/workflows/workflows.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([WorkflowRunEntity, WorkflowInstanceEntity, WorkflowSourceEntity, JobEntity]),
    // The retention days of job records, which workflow runs share.
    ConfigModule.forFeature(jobsConfig),
    DatabaseModule,
    RuntimeModule,
    JobsModule,
    PoliciesModule,
    QuotasModule,
    AuditModule,
    StorageModule,
    SessionsCoreModule,
  ],
  controllers: [WorkflowSourcesController, WorkflowsController],
  providers: [
    WorkflowsService,
    WorkflowRunnerService,
    WorkflowInstanceStore,
    WorkflowStepDriver,
    WorkflowServices,
    WorkflowRunEvents,
    provideScopedRepository(WorkflowRunEntity),
    provideScopedRepository(WorkflowInstanceEntity),
    // Instance jobs' rows, read by the runner on resume.
    provideScopedRepository(JobEntity),
    WorkflowSourcesService,
    WorkflowArtifacts,
    WorkflowRetentionService,
    provideScopedRepository(WorkflowSourceEntity),
  ],
  exports: [WorkflowsService],
})
export class WorkflowsModule {}
