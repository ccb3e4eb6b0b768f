import { Injectable } from '@nestjs/common';
import { In, Not } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { TERMINAL_STATUSES } from 'src/jobs/job-model';

export interface SessionJobSpend {
  jobCount: number;
  cpuSeconds: number;
  jobSeconds: number;
  artifactBytes: number;
}

/**
 * Reads of job rows that features above jobs need (the session view, the workflow runner's resume),
 * so only JobsModule registers the job repositories. Callers have checked permissions; every read is
 * scoped to the workspace given.
 */
@Injectable()
export class JobReads {
  constructor(@InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>) {}

  find(workspaceId: string, id: string): Promise<JobEntity | null> {
    return this.jobs.findOne(workspaceId, { id });
  }

  async idByIdempotencyKey(workspaceId: string, key: string): Promise<string | null> {
    const job = await this.jobs.findOne(workspaceId, { idempotencyKey: key });
    return job?.id ?? null;
  }

  /** A session's jobs, newest first. */
  listForSession(workspaceId: string, sessionId: string, take: number): Promise<JobEntity[]> {
    return this.jobs.find(workspaceId, { where: { sessionId }, order: { createdAt: 'DESC', id: 'DESC' }, take });
  }

  countUnfinishedForSession(workspaceId: string, sessionId: string): Promise<number> {
    return this.jobs.count(workspaceId, { sessionId, status: Not(In([...TERMINAL_STATUSES])) });
  }

  async spendForSession(workspaceId: string, sessionId: string): Promise<SessionJobSpend> {
    const jobs = await this.jobs
      .queryBuilder(workspaceId, 'j')
      .andWhere('j.session_id = :id', { id: sessionId })
      .select('COUNT(*)', 'job_count')
      .addSelect('COALESCE(SUM(j.cpu_seconds), 0)', 'cpu_seconds')
      .addSelect('COALESCE(SUM(EXTRACT(EPOCH FROM COALESCE(j.finished_at, now()) - j.started_at)), 0)', 'job_seconds')
      .getRawOne<{ job_count: string; cpu_seconds: string; job_seconds: string }>();
    const artifacts = await this.jobs
      .queryBuilder(workspaceId, 'j')
      .innerJoin(JobArtifactEntity, 'a', 'a.job_id = j.id AND a.workspace_id = j.workspace_id')
      .andWhere('j.session_id = :id', { id: sessionId })
      .select('COALESCE(SUM(a.size_bytes), 0)', 'artifact_bytes')
      .getRawOne<{ artifact_bytes: string }>();
    return {
      jobCount: Number(jobs?.job_count ?? 0),
      cpuSeconds: Number(jobs?.cpu_seconds ?? 0),
      jobSeconds: Number(jobs?.job_seconds ?? 0),
      artifactBytes: Number(artifacts?.artifact_bytes ?? 0),
    };
  }
}
