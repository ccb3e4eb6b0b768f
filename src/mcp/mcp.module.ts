import { Module } from '@nestjs/common';
import { LearningModule } from 'src/learning/learning.module';
import { RegistriesModule } from 'src/registries/registries.module';
import { AuditModule } from 'src/audit/audit.module';
import { EgressModule } from 'src/egress/egress.module';
import { JobsModule } from 'src/jobs/jobs.module';
import { McpController } from 'src/mcp/mcp.controller';
import { McpServerFactory } from 'src/mcp/mcp-server.factory';
import { McpSessions } from 'src/mcp/mcp-sessions.service';
import { SandboxesModule } from 'src/sandboxes/sandboxes.module';
import { SecretsModule } from 'src/secrets/secrets.module';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { MetricsModule } from 'src/metrics/metrics.module';
import { EnvironmentsModule } from 'src/environments/environments.module';
import { SessionsModule } from 'src/sessions/sessions.module';

/** The MCP front end: above audit, jobs, sandboxes, workflows and sessions; nothing depends on it. */
@Module({
  imports: [AuditModule, EgressModule, JobsModule, LearningModule, SandboxesModule, WorkflowsModule, EnvironmentsModule, RegistriesModule, MetricsModule, SecretsModule, SessionsModule],
  controllers: [McpController],
  providers: [McpServerFactory, McpSessions],
  exports: [McpServerFactory],
})
export class McpModule {}
