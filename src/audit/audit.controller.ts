import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/common/decorators/route-metadata';
import { AuditService } from 'src/audit/audit.service';
import { AuditPageResponseDto } from 'src/audit/dto/audit-event-response.dto';
import { AuditQueryDto } from 'src/audit/dto/audit-query.dto';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequirePermission('audit:read')
  @ApiOperation({ operationId: 'listAuditEvents', summary: 'Audit events, newest first' })
  list(@Tenant() ctx: TenantContext, @Query() q: AuditQueryDto): Promise<AuditPageResponseDto> {
    return this.audit.list(ctx, {
      workspaceId: q.workspace_id,
      action: q.action,
      actor: q.actor,
      resourceType: q.resource_type,
      resourceId: q.resource_id,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      cursor: q.cursor,
      limit: q.limit ?? 50,
    });
  }
}
