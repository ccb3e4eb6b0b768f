import { Injectable } from '@nestjs/common';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';

/**
 * Reads of workflow runs that features above workflows need (the session view), so only
 * WorkflowsModule registers the workflow repositories. Callers have checked permissions; every read is
 * scoped to the workspace given.
 */
@Injectable()
export class WorkflowRunReads {
  constructor(
    @InjectScopedRepository(WorkflowRunEntity) private readonly runs: TenantScopedRepository<WorkflowRunEntity>,
    @InjectScopedRepository(WorkflowInstanceEntity) private readonly instances: TenantScopedRepository<WorkflowInstanceEntity>,
  ) {}

  /** A session's runs, newest first: only the summary columns (a run row also holds its whole source and spec). */
  listForSession(workspaceId: string, sessionId: string, take: number): Promise<WorkflowRunEntity[]> {
    return this.runs
      .queryBuilder(workspaceId, 'r')
      .select(['r.id', 'r.name', 'r.status', 'r.conclusion', 'r.createdAt', 'r.finishedAt'])
      .andWhere('r.session_id = :id', { id: sessionId })
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .take(take)
      .getMany();
  }

  countRunningForSession(workspaceId: string, sessionId: string): Promise<number> {
    return this.runs.count(workspaceId, { sessionId, status: 'running' });
  }

  /** The CPU time of the session's runs' service containers (each attempt records it), as the quotas count it. */
  async serviceCpuSecondsForSession(workspaceId: string, sessionId: string): Promise<number> {
    const row = await this.instances
      .queryBuilder(workspaceId, 'i')
      .innerJoin(WorkflowRunEntity, 'r', 'r.id = i.run_id AND r.workspace_id = i.workspace_id')
      .andWhere('r.session_id = :id', { id: sessionId })
      .select("COALESCE(SUM((SELECT SUM((a->>'services_cpu_seconds')::float8) FROM jsonb_array_elements(i.attempts) a)), 0)", 'cpu_seconds')
      .getRawOne<{ cpu_seconds: string }>();
    return Number(row?.cpu_seconds ?? 0);
  }
}
