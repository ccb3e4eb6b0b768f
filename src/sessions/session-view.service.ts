import { Injectable } from '@nestjs/common';
import { In, Not } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { TERMINAL_STATUSES } from 'src/jobs/job-model';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { SessionSpendDto, SessionViewResponseDto } from 'src/sessions/dto/session.dto';
import type { AgentSessionEntity } from 'src/sessions/entities/agent-session.entity';
import { toSessionJob, toSessionResponse, toSessionSandbox, toSessionWorkflowRun } from 'src/sessions/sessions.mappers';
import type { Permission } from 'src/tenancy/permissions';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';

const VIEW_ITEMS = 100;
const LIVE_SANDBOX_STATUSES = ['starting', 'ready'] as const;

/**
 * What a session created and spent, read across jobs, sandboxes and workflow runs (scoped reads only;
 * SessionsService changes them through their services). The caller checked access to the session.
 */
@Injectable()
export class SessionView {
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobRows: TenantScopedRepository<JobEntity>,
    @InjectScopedRepository(SandboxEntity) private readonly sandboxRows: TenantScopedRepository<SandboxEntity>,
    @InjectScopedRepository(JobArtifactEntity) private readonly artifactRows: TenantScopedRepository<JobArtifactEntity>,
    @InjectScopedRepository(WorkflowRunEntity) private readonly runRows: TenantScopedRepository<WorkflowRunEntity>,
    @InjectScopedRepository(WorkflowInstanceEntity) private readonly instanceRows: TenantScopedRepository<WorkflowInstanceEntity>,
  ) {}

  /** The session, what it created (newest first) and what that spent. */
  async of(workspaceId: string, session: AgentSessionEntity): Promise<SessionViewResponseDto> {
    const { id } = session;
    const newest = { where: { sessionId: id }, order: { createdAt: 'DESC', id: 'DESC' }, take: VIEW_ITEMS } as const;
    const [jobs, sandboxes, runs, spend] = await Promise.all([
      this.jobRows.find(workspaceId, newest),
      this.sandboxRows.find(workspaceId, newest),
      this.runRows // only the summary columns: a run row also holds its whole source and spec
        .queryBuilder(workspaceId, 'r')
        .select(['r.id', 'r.name', 'r.status', 'r.conclusion', 'r.createdAt', 'r.finishedAt'])
        .andWhere('r.session_id = :id', { id })
        .orderBy('r.created_at', 'DESC')
        .addOrderBy('r.id', 'DESC')
        .take(VIEW_ITEMS)
        .getMany(),
      this.spend(workspaceId, id),
    ]);
    return { ...toSessionResponse(session), jobs: jobs.map(toSessionJob), sandboxes: sandboxes.map(toSessionSandbox), workflow_runs: runs.map(toSessionWorkflowRun), spend };
  }

  /** The permissions a cleanup of the session needs: one per kind of work it still has live, in this order. */
  async cleanupNeeds(workspaceId: string, id: string): Promise<Permission[]> {
    const needed: Permission[] = [];
    if (await this.sandboxRows.count(workspaceId, { sessionId: id, status: In([...LIVE_SANDBOX_STATUSES]) })) needed.push('sandbox:delete');
    if (await this.jobRows.count(workspaceId, { sessionId: id, status: Not(In([...TERMINAL_STATUSES])) })) needed.push('job:cancel');
    if (await this.runRows.count(workspaceId, { sessionId: id, status: 'running' })) needed.push('workflow:cancel');
    return needed;
  }

  private async spend(workspaceId: string, id: string): Promise<SessionSpendDto> {
    const jobs = await this.jobRows
      .queryBuilder(workspaceId, 'j')
      .andWhere('j.session_id = :id', { id })
      .select('COUNT(*)', 'job_count')
      .addSelect('COALESCE(SUM(j.cpu_seconds), 0)', 'cpu_seconds')
      .addSelect('COALESCE(SUM(EXTRACT(EPOCH FROM COALESCE(j.finished_at, now()) - j.started_at)), 0)', 'job_seconds')
      .getRawOne<{ job_count: string; cpu_seconds: string; job_seconds: string }>();
    const sandboxes = await this.sandboxRows
      .queryBuilder(workspaceId, 's')
      .andWhere('s.session_id = :id', { id })
      .select('COUNT(*)', 'sandbox_count')
      .addSelect('COALESCE(SUM(GREATEST(0, EXTRACT(EPOCH FROM COALESCE(s.stopped_at, now()) - COALESCE(s.ready_at, s.created_at)))), 0)', 'sandbox_seconds')
      .getRawOne<{ sandbox_count: string; sandbox_seconds: string }>();
    const artifacts = await this.artifactRows
      .queryBuilder(workspaceId, 'a')
      .innerJoin(JobEntity, 'j', 'j.id = a.job_id AND j.workspace_id = a.workspace_id')
      .andWhere('j.session_id = :id', { id })
      .select('COALESCE(SUM(a.size_bytes), 0)', 'artifact_bytes')
      .getRawOne<{ artifact_bytes: string }>();
    // Workflow service containers' CPU time (each attempt records it), counted like the quotas count it.
    const services = await this.instanceRows
      .queryBuilder(workspaceId, 'i')
      .innerJoin(WorkflowRunEntity, 'r', 'r.id = i.run_id AND r.workspace_id = i.workspace_id')
      .andWhere('r.session_id = :id', { id })
      .select("COALESCE(SUM((SELECT SUM((a->>'services_cpu_seconds')::float8) FROM jsonb_array_elements(i.attempts) a)), 0)", 'cpu_seconds')
      .getRawOne<{ cpu_seconds: string }>();
    const round = (v: string | number | undefined): number => Math.round(Number(v ?? 0) * 1000) / 1000;
    return {
      job_count: Number(jobs?.job_count ?? 0),
      cpu_seconds: round(Number(jobs?.cpu_seconds ?? 0) + Number(services?.cpu_seconds ?? 0)),
      job_seconds: round(jobs?.job_seconds),
      artifact_bytes: Number(artifacts?.artifact_bytes ?? 0),
      sandbox_count: Number(sandboxes?.sandbox_count ?? 0),
      sandbox_seconds: round(sandboxes?.sandbox_seconds),
    };
  }
}
