import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { HttpErrorFilter } from 'src/common/errors/http-error.filter';
import { createValidationPipe } from 'src/common/validation';
import { appConfig, authConfig, databaseConfig, metricsConfig, runtimeConfig } from 'src/config/orcaops.config';
import { ApprovalsModule } from 'src/approvals/approvals.module';
import { AuditModule } from 'src/audit/audit.module';
import { DatabaseModule } from 'src/database/database.module';
import { GovernanceModule } from 'src/governance/governance.module';
import { HealthModule } from 'src/health/health.module';
import { StreamSlotInterceptor } from 'src/streams/stream-slots';
import { StreamsModule } from 'src/streams/streams.module';
import { JobsModule } from 'src/jobs/jobs.module';
import { PoliciesModule } from 'src/policies/policies.module';
import { McpModule } from 'src/mcp/mcp.module';
import { MetricsModule } from 'src/metrics/metrics.module';
import { OperatorModule } from 'src/operator/operator.module';
import { TelemetryModule } from 'src/telemetry/telemetry.module';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';
import { SecretsModule } from 'src/secrets/secrets.module';
import { ImageBuildsModule } from 'src/image-builds/image-builds.module';
import { SessionHeaderInterceptor } from 'src/session-links/session-header.interceptor';
import { SessionsCoreModule } from 'src/session-links/sessions-core.module';
import { SessionsModule } from 'src/sessions/sessions.module';
import { HttpAuthModule } from 'src/http/auth/http-auth.module';
import { TenantGuard } from 'src/http/auth/tenant.guard';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { EnvironmentsModule } from 'src/environments/environments.module';
import { WorkspacesModule } from 'src/workspaces/workspaces.module';

export const CONFIG_IMPORT = ConfigModule.forRoot({
  isGlobal: true,
  ignoreEnvFile: true,
  load: [appConfig, databaseConfig, authConfig, runtimeConfig, metricsConfig],
});

@Module({
  imports: [
    CONFIG_IMPORT,
    TelemetryModule,
    DatabaseModule,
    StreamsModule,
    AuditModule,
    HttpAuthModule,
    WorkspacesModule,
    JobsModule,
    SandboxesModule,
    SessionsCoreModule,
    SessionsModule,
    PoliciesModule,
    SecretsModule,
    ImageBuildsModule,
    ApprovalsModule,
    WorkflowsModule,
    EnvironmentsModule,
    MetricsModule,
    OperatorModule,
    McpModule,
    GovernanceModule,
    HealthModule,
  ],
  providers: [
    { provide: APP_GUARD, useExisting: TenantGuard },
    { provide: APP_FILTER, useClass: HttpErrorFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
    // Requests carrying X-OrcaOps-Session: checked (404), touched, and the id put on the TenantContext.
    { provide: APP_INTERCEPTOR, useExisting: SessionHeaderInterceptor },
    // Routes marked @CountsAsStream take a stream slot (per token, per workspace) while their response is open.
    { provide: APP_INTERCEPTOR, useExisting: StreamSlotInterceptor },
  ],
})
export class AppModule {}
