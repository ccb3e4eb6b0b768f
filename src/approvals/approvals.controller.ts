import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApprovalsService } from 'src/approvals/approvals.service';
import { DecideApprovalDto, ListApprovalsQueryDto } from 'src/approvals/dto/decide-approval.dto';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { ApprovalListResponseDto, ApprovalResponseDto } from 'src/policies/dto/approval-response.dto';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('approvals')
@ApiBearerAuth()
@Controller('v1/approvals')
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalsService) {}

  @Get()
  @RequirePermission('approval:decide')
  @ApiOperation({ operationId: 'listApprovals', summary: 'Approval requests of this workspace (default: pending), newest first' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListApprovalsQueryDto): Promise<ApprovalListResponseDto> {
    return this.approvals.list(ctx, q.status, q.limit ?? 50);
  }

  @Get(':approvalId')
  @RequirePermission('approval:decide')
  @ApiOperation({ operationId: 'getApproval', summary: 'One approval request' })
  get(@Tenant() ctx: TenantContext, @Param('approvalId', idOf('approval')) id: string): Promise<ApprovalResponseDto> {
    return this.approvals.get(ctx, id);
  }

  @Post(':approvalId/approve')
  @HttpCode(200)
  @RequirePermission('approval:decide')
  @ApiOperation({ operationId: 'approveApproval', summary: 'Approve: the waiting job is enqueued and runs' })
  approve(@Tenant() ctx: TenantContext, @Param('approvalId', idOf('approval')) id: string, @Body() dto: DecideApprovalDto): Promise<ApprovalResponseDto> {
    return this.approvals.decide(ctx, id, 'approved', dto.comment ?? null);
  }

  @Post(':approvalId/reject')
  @HttpCode(200)
  @RequirePermission('approval:decide')
  @ApiOperation({ operationId: 'rejectApproval', summary: 'Reject: the waiting job is cancelled (approval_rejected) and never runs' })
  reject(@Tenant() ctx: TenantContext, @Param('approvalId', idOf('approval')) id: string, @Body() dto: DecideApprovalDto): Promise<ApprovalResponseDto> {
    return this.approvals.decide(ctx, id, 'rejected', dto.comment ?? null);
  }
}
