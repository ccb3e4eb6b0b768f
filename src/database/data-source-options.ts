import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { InstallationEntity } from 'src/database/installation.entity';
import { ImageBuildEntity } from 'src/image-builds/entities/image-build.entity';
import { AuditEventEntity } from 'src/audit/entities/audit-event.entity';
import { EgressEventEntity } from 'src/egress/entities/egress-event.entity';
import { EgressUsageDayEntity } from 'src/egress/entities/egress-usage-day.entity';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobSummaryEntity } from 'src/jobs/entities/job-summary.entity';
import { RunAnomalyEntity } from 'src/learning/entities/run-anomaly.entity';
import { RunBaselineEntity } from 'src/learning/entities/run-baseline.entity';
import { JobMetricHourEntity } from 'src/metrics/entities/job-metric-hour.entity';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { SandboxCommandEntity } from 'src/sandboxes/history/sandbox-command.entity';
import { SandboxPreviewEntity } from 'src/sandboxes/previews/sandbox-preview.entity';
import { ApprovalRequestEntity } from 'src/policies/entities/approval-request.entity';
import { OrganisationPolicyEntity } from 'src/policies/entities/organisation-policy.entity';
import { WorkspacePolicyEntity } from 'src/policies/entities/workspace-policy.entity';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { AdminTokenEntity } from 'src/tenancy/entities/admin-token.entity';
import { ApiTokenEntity } from 'src/tenancy/entities/api-token.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';
import { QuotaLimitEntity } from 'src/quotas/entities/quota-limit.entity';
import { QuotaUsageDayEntity } from 'src/quotas/entities/quota-usage-day.entity';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import { WorkflowSourceEntity } from 'src/workflows/entities/workflow-source.entity';
import { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import { RegistryCredentialEntity } from 'src/registries/entities/registry-credential.entity';
import { OrganisationSecretEntity } from 'src/secrets/entities/organisation-secret.entity';
import { WorkspaceSecretEntity } from 'src/secrets/entities/workspace-secret.entity';
import { EnvironmentEntity } from 'src/environments/entities/environment.entity';

/** Every entity, listed explicitly (no globs) so the drift check and the app agree. */
export const ENTITIES = [
  InstallationEntity,
  WorkspaceEntity,
  ApiTokenEntity,
  AdminTokenEntity,
  AuditEventEntity,
  JobEntity,
  JobLogChunkEntity,
  JobArtifactEntity,
  JobSummaryEntity,
  JobMetricHourEntity,
  RunBaselineEntity,
  RunAnomalyEntity,
  SandboxEntity,
  SandboxCommandEntity,
  SandboxPreviewEntity,
  QuotaLimitEntity,
  QuotaUsageDayEntity,
  // Policies (issue 5)
  OrganisationPolicyEntity,
  WorkspacePolicyEntity,
  ApprovalRequestEntity,
  AgentSessionEntity,
  WorkflowRunEntity,
  WorkflowInstanceEntity,
  WorkflowSourceEntity,
  RegistryCredentialEntity,
  ImagePullGrantEntity,
  ImageBuildEntity,
  // Secrets (issue 13)
  WorkspaceSecretEntity,
  OrganisationSecretEntity,
  // Environments (issue 20)
  EnvironmentEntity,
  // Egress log and daily byte counters (issue 14)
  EgressEventEntity,
  EgressUsageDayEntity,
];

/** ORCAOPS_DB_POOL_SIZE (validated at start-up with the rest of the environment; 20 when unset). */
function poolSize(): number {
  const value = Number(process.env.ORCAOPS_DB_POOL_SIZE ?? 20);
  return Number.isInteger(value) && value >= 2 ? value : 20;
}

/** The one DataSource options object, shared by Nest, the CLI, tests and the TypeORM CLI. */
export function buildDataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    // __dirname is src/database (ts) or dist/src/database (js): migrations sit two levels up either way.
    migrations: [join(__dirname, '..', '..', 'migrations', '*.{ts,js}')],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    extra: { max: poolSize() },
  };
}
