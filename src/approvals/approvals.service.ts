import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { JobApprovalsService } from 'src/jobs/job-approvals.service';
import type { JobApproval } from 'src/jobs/job-model';
import { ApprovalRequestsService, toApprovalResponse } from 'src/policies/approval-requests.service';
import { PoliciesService } from 'src/policies/policies.service';
import { ApprovalListResponseDto, ApprovalResponseDto } from 'src/policies/dto/approval-response.dto';
import { ApprovalRequestEntity, ApprovalStatus } from 'src/policies/entities/approval-request.entity';
import { TenantContext } from 'src/tenancy/tenant-context';

export function jobApprovalOf(row: ApprovalRequestEntity): JobApproval {
  return {
    id: row.id,
    status: row.status,
    reasons: row.reasons.map(({ rule, field, message }) => ({ rule, field, message })),
    expires_at: row.expiresAt.toISOString(),
    decided_by: row.decidedBy,
    decided_at: row.decidedAt?.toISOString() ?? null,
    comment: row.comment,
  };
}

/**
 * Human-in-the-loop decisions. One transaction records the decision (compare-and-set from pending),
 * moves the job out of awaiting_approval and writes the audit event; an approved job is enqueued only
 * after that commit, a rejected one is cancelled (approval_rejected) and never runs.
 */
@Injectable()
export class ApprovalsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly requests: ApprovalRequestsService,
    private readonly jobs: JobApprovalsService,
    private readonly policies: PoliciesService,
    private readonly audit: AuditService,
  ) {}

  async list(ctx: TenantContext, status: ApprovalStatus | undefined, limit: number): Promise<ApprovalListResponseDto> {
    return { items: await this.requests.list(ctx, status ?? 'pending', limit) };
  }

  get(ctx: TenantContext, id: string): Promise<ApprovalResponseDto> {
    return this.requests.get(ctx, id);
  }

  async decide(ctx: TenantContext, id: string, verdict: 'approved' | 'rejected', comment: string | null): Promise<ApprovalResponseDto> {
    const row = await this.requests.find(ctx, id);
    if (verdict === 'approved') await this.assertFourEyes(ctx, row);
    const decided = await this.dataSource.transaction(async (manager) => {
      const updated = await this.requests.decide(ctx, row, verdict, comment, manager);
      const approval = jobApprovalOf(updated);
      const moved = verdict === 'approved'
        ? await this.jobs.release(row.workspaceId, row.resourceId, approval, manager)
        : await this.jobs.refuse(row.workspaceId, row.resourceId, 'approval_rejected', approval, manager);
      if (!moved) throw new OrcaOpsError('conflict', `job ${row.resourceId} is no longer awaiting approval (cancelled or already decided)`, { job_id: row.resourceId });
      return updated;
    });
    if (verdict === 'approved') await this.jobs.dispatch(row.workspaceId, row.resourceId);
    else this.jobs.notify(row.resourceId);
    return toApprovalResponse(decided);
  }

  /**
   * Four eyes: the token that submitted the held job cannot approve it unless the policy says so
   * (approvals.allow_self_approval). Rejecting one's own request is always allowed. The refusal is audited.
   */
  private async assertFourEyes(ctx: TenantContext, row: ApprovalRequestEntity): Promise<void> {
    if (row.requestedBy !== ctx.principal.tokenId) return;
    if (await this.policies.allowsSelfApproval(ctx, row.workspaceId)) return;
    await this.audit.record(ctx, {
      action: 'approval.approve',
      outcome: 'denied',
      resourceType: 'approval',
      resourceId: row.id,
      workspaceId: row.workspaceId,
      details: { reason: 'self_approval', job_id: row.resourceId },
    });
    throw new OrcaOpsError('forbidden', 'You requested this approval and cannot approve it yourself: another approver must (four eyes; the organisation policy key approvals.allow_self_approval allows it)', {
      approval_id: row.id,
      requested_by: row.requestedBy,
    });
  }

  /** Expires every pending request past its time; their jobs end cancelled (approval_expired) and never run. */
  async expireDue(): Promise<number> {
    const expired = await this.dataSource.transaction(async (manager) => {
      const rows = await this.requests.expireDue(manager);
      for (const row of rows) await this.jobs.refuse(row.workspaceId, row.resourceId, 'approval_expired', jobApprovalOf(row), manager);
      return rows;
    });
    for (const row of expired) this.jobs.notify(row.resourceId);
    return expired.length;
  }
}
