import type { TenantContext } from 'src/tenancy/tenant-context';
import type { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';

/**
 * The identity the runner acts with for a run: the submitter's token, limited to what running the
 * run's jobs needs. Jobs it starts go through JobsService, so policies and quotas apply to each.
 */
export function runnerContext(run: Pick<WorkflowRunEntity, 'id' | 'workspaceId' | 'createdBy'>): TenantContext {
  return {
    principal: { kind: 'workspace', tokenId: run.createdBy, tokenName: 'workflow-runner', workspaceId: run.workspaceId, role: 'developer' },
    permissions: new Set(['job:create', 'job:read', 'job:cancel']),
    requestId: `workflow-${run.id}`,
    via: 'rest',
  };
}
