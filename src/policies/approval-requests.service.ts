import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager, MoreThan } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { ApprovalResponseDto } from 'src/policies/dto/approval-response.dto';
import { ApprovalRequestEntity, ApprovalStatus } from 'src/policies/entities/approval-request.entity';
import type { PolicyViolation } from 'src/policies/policy-model';
import { assertPermission } from 'src/tenancy/assert-permission';
import { TenantContext } from 'src/tenancy/tenant-context';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';

export interface OpenApproval {
  resourceId: string;
  reasons: PolicyViolation[];
  summary: Record<string, unknown>;
  expiresInSeconds: number;
}

export function toApprovalResponse(row: ApprovalRequestEntity): ApprovalResponseDto {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    status: row.status,
    resource_type: row.resourceType,
    resource_id: row.resourceId,
    requested_by: row.requestedBy,
    reasons: row.reasons,
    summary: row.summary,
    expires_at: row.expiresAt.toISOString(),
    decided_by: row.decidedBy,
    decided_at: row.decidedAt?.toISOString() ?? null,
    comment: row.comment,
    created_at: row.createdAt.toISOString(),
  };
}

/**
 * Approval request rows: opened inside the admitting transaction, decided by compare-and-set from
 * `pending`. What a decision does to the waiting work is the approvals module's job (it sits above jobs).
 */
@Injectable()
export class ApprovalRequestsService {
  private readonly openedListeners: Array<(row: ApprovalRequestEntity) => void> = [];

  constructor(
    @InjectScopedRepository(ApprovalRequestEntity) private readonly approvals: TenantScopedRepository<ApprovalRequestEntity>,
    private readonly audit: AuditService,
  ) {}

  /** The expiry timer subscribes here (an in-process hook, like SandboxActivity.onForget). */
  onOpened(listener: (row: ApprovalRequestEntity) => void): void {
    this.openedListeners.push(listener);
  }

  /** Opens a pending request for work the caller is creating, in the caller's transaction, audited. */
  async open(ctx: TenantContext, request: OpenApproval, manager: EntityManager): Promise<ApprovalRequestEntity> {
    const { workspaceId } = requireWorkspace(ctx);
    const row = await this.approvals.withManager(manager).insert(workspaceId, {
      id: randomUUID(),
      status: 'pending',
      resourceType: 'job',
      resourceId: request.resourceId,
      requestedBy: ctx.principal.tokenId,
      reasons: request.reasons,
      summary: request.summary,
      expiresAt: new Date(Date.now() + request.expiresInSeconds * 1000),
      decidedBy: null,
      decidedAt: null,
      comment: null,
    });
    await this.audit.record(ctx, {
      action: 'approval.request',
      resourceType: 'approval',
      resourceId: row.id,
      details: { job_id: request.resourceId, reasons: request.reasons, expires_at: row.expiresAt.toISOString() },
    }, manager);
    for (const listener of this.openedListeners) listener(row);
    return row;
  }

  async list(ctx: TenantContext, status: ApprovalStatus | undefined, limit: number): Promise<ApprovalResponseDto[]> {
    assertPermission(ctx, 'approval:decide');
    const { workspaceId } = requireWorkspace(ctx);
    const where = status === 'pending' ? { status, expiresAt: MoreThan(new Date()) } : status ? { status } : {};
    const rows = await this.approvals.find(workspaceId, { where, order: { createdAt: 'DESC' }, take: limit });
    return rows.map(toApprovalResponse);
  }

  async get(ctx: TenantContext, id: string): Promise<ApprovalResponseDto> {
    return toApprovalResponse(await this.find(ctx, id));
  }

  async find(ctx: TenantContext, id: string): Promise<ApprovalRequestEntity> {
    assertPermission(ctx, 'approval:decide');
    const { workspaceId } = requireWorkspace(ctx);
    const row = await this.approvals.findOne(workspaceId, { id });
    if (!row) throw notFound('approval', id);
    return row;
  }

  /** pending → approved | rejected, only before it expires; anything else is a 409 naming the state. */
  async decide(ctx: TenantContext, row: ApprovalRequestEntity, status: 'approved' | 'rejected', comment: string | null, manager: EntityManager): Promise<ApprovalRequestEntity> {
    const decidedAt = new Date();
    const changed = await this.approvals
      .withManager(manager)
      .update(row.workspaceId, { id: row.id, status: 'pending', expiresAt: MoreThan(decidedAt) }, { status, comment, decidedBy: ctx.principal.tokenId, decidedAt });
    if (!changed) {
      const state = row.status === 'pending' ? 'expired' : row.status;
      throw new OrcaOpsError('conflict', `approval ${row.id} is ${state}; only a pending request can be decided`, { status: state });
    }
    await this.audit.record(ctx, {
      action: status === 'approved' ? 'approval.approve' : 'approval.reject',
      resourceType: 'approval',
      resourceId: row.id,
      details: { job_id: row.resourceId, comment },
    }, manager);
    return { ...row, status, comment, decidedBy: ctx.principal.tokenId, decidedAt };
  }

  /**
   * Marks every pending request past its expiry as expired (system action, audited); returns them.
   * Across workspaces on purpose: the sweep acts for the system, and each row keeps its workspace_id.
   */
  async expireDue(manager: EntityManager): Promise<ApprovalRequestEntity[]> {
    const now = new Date();
    const due = await manager
      .getRepository(ApprovalRequestEntity)
      .createQueryBuilder('a')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where('a.status = :pending AND a.expires_at <= :now', { pending: 'pending', now })
      .getMany();
    for (const row of due) {
      await manager.getRepository(ApprovalRequestEntity).update({ id: row.id, status: 'pending' }, { status: 'expired', decidedAt: now, decidedBy: 'system' });
      await this.audit.recordSystem(row.workspaceId, { action: 'approval.expire', resourceType: 'approval', resourceId: row.id, details: { job_id: row.resourceId } }, manager);
    }
    return due.map((row) => ({ ...row, status: 'expired', decidedAt: now, decidedBy: 'system' }));
  }
}
