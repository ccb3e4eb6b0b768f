import { SecretsModule } from 'src/secrets/secrets.module';
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { InstallationModule } from 'src/database/installation.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { jobsConfig } from 'src/jobs/jobs.config';
import { JobsModule } from 'src/jobs/jobs.module';
import { RegistriesModule } from 'src/registries/registries.module';
import { PoliciesModule } from 'src/policies/policies.module';
import { QuotasModule } from 'src/quotas/quotas.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { StorageModule } from 'src/storage/storage.module';
import { SessionsCoreModule } from 'src/session-links/sessions-core.module';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import { WorkflowSourceEntity } from 'src/workflows/entities/workflow-source.entity';
import { WorkflowInstanceStore } from 'src/workflows/runner/workflow-instance-store';
import { WorkflowRunnerService } from 'src/workflows/runner/workflow-runner.service';
import { ServicesRuntimeModule } from 'src/services-runtime/services-runtime.module';
import { WorkflowArtifacts } from 'src/workflows/runner/workflow-artifacts';
import { WorkflowStepDriver } from 'src/workflows/runner/workflow-step-driver';
import { WorkflowSourcesController } from 'src/workflows/sources/workflow-sources.controller';
import { WorkflowSourcesService } from 'src/workflows/sources/workflow-sources.service';
import { WorkflowsController } from 'src/workflows/workflows.controller';
import { WorkflowRetentionService } from 'src/workflows/workflow-retention.service';
import { WorkflowRunEvents } from 'src/workflows/workflow-run-events';
import { WorkflowRunReads } from 'src/workflows/workflow-run-reads.service';
import { WorkflowsService } from 'src/workflows/workflows.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([WorkflowRunEntity, WorkflowInstanceEntity, WorkflowSourceEntity]),
    // The retention days of job records, which workflow runs share.
    ConfigModule.forFeature(jobsConfig),
    InstallationModule,
    RuntimeModule,
    JobsModule,
    RegistriesModule,
    ServicesRuntimeModule,
    PoliciesModule,
    SecretsModule,
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
    WorkflowRunEvents,
    provideScopedRepository(WorkflowRunEntity),
    provideScopedRepository(WorkflowInstanceEntity),
    // Instance jobs' rows, read by the runner on resume.
    WorkflowSourcesService,
    WorkflowArtifacts,
    WorkflowRetentionService,
    WorkflowRunReads,
    provideScopedRepository(WorkflowSourceEntity),
  ],
  exports: [WorkflowsService, WorkflowRunReads],
})
export class WorkflowsModule {}
