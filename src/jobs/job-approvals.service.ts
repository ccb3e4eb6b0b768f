import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JOB_DISPATCH, JobDispatch } from 'src/jobs/job-dispatch';
import { JobEvents } from 'src/jobs/job-events';
import type { JobApproval } from 'src/jobs/job-model';

/**
 * What an approval decision does to a job held in awaiting_approval (called by the approvals module,
 * which sits above jobs). Each change is a compare-and-set from awaiting_approval, so a job its owner
 * cancelled meanwhile, or one already decided, is never released.
 */
@Injectable()
export class JobApprovalsService {
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @Inject(JOB_DISPATCH) private readonly runner: JobDispatch,
    private readonly events: JobEvents,
  ) {}

  /** awaiting_approval → queued, in the deciding transaction; false when the job no longer waits. */
  async release(workspaceId: string, jobId: string, approval: JobApproval, manager: EntityManager): Promise<boolean> {
    const changed = await this.jobs.withManager(manager).update(workspaceId, { id: jobId, status: 'awaiting_approval' }, { status: 'queued', approval });
    return changed > 0;
  }

  /** awaiting_approval → cancelled with approval_rejected or approval_expired: the job never runs. */
  async refuse(workspaceId: string, jobId: string, reason: 'approval_rejected' | 'approval_expired', approval: JobApproval, manager: EntityManager): Promise<boolean> {
    const message = reason === 'approval_rejected' ? `approval rejected${approval.comment ? `: ${approval.comment}` : ''}` : 'approval request expired before anyone decided';
    const changed = await this.jobs
      .withManager(manager)
      .update(workspaceId, { id: jobId, status: 'awaiting_approval' }, { status: 'cancelled', reason, message, approval, finishedAt: new Date() });
    return changed > 0;
  }

  /** After the releasing transaction committed: hand the job to the queue. */
  async dispatch(workspaceId: string, jobId: string): Promise<void> {
    this.events.notify(jobId);
    await this.runner.dispatch({ id: jobId, workspaceId });
  }

  /** After a refusal committed: wake waiters and log followers. */
  notify(jobId: string): void {
    this.events.notify(jobId);
  }
}
