import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { QuotaLimitsResponseDto, SetQuotasDto, WorkspaceUsageResponseDto } from 'src/quotas/dto/quota.dto';
import { QuotasService } from 'src/quotas/quotas.service';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('quotas')
@ApiBearerAuth()
@Controller('v1')
export class QuotasController {
  constructor(private readonly quotas: QuotasService) {}

  @Get('quotas')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'getOrganisationQuotas', summary: 'Organisation-wide default limits (organisation admin)' })
  getDefaults(@Tenant() ctx: TenantContext): Promise<QuotaLimitsResponseDto> {
    return this.quotas.getLimits(ctx, null);
  }

  @Put('quotas')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'setOrganisationQuotas', summary: 'Set or reset organisation-wide default limits (organisation admin)' })
  setDefaults(@Tenant() ctx: TenantContext, @Body() dto: SetQuotasDto): Promise<QuotaLimitsResponseDto> {
    return this.quotas.setLimits(ctx, null, dto);
  }

  @Get('workspaces/:workspaceId/quotas')
  @RequirePermission('workspace:read')
  @ApiOperation({ operationId: 'getWorkspaceQuotas', summary: "A workspace's limits and where each comes from" })
  get(@Tenant() ctx: TenantContext, @Param('workspaceId', idOf('workspace')) id: string): Promise<QuotaLimitsResponseDto> {
    return this.quotas.getLimits(ctx, id);
  }

  @Put('workspaces/:workspaceId/quotas')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'setWorkspaceQuotas', summary: "Set or reset a workspace's limits (organisation admin)" })
  set(@Tenant() ctx: TenantContext, @Param('workspaceId', idOf('workspace')) id: string, @Body() dto: SetQuotasDto): Promise<QuotaLimitsResponseDto> {
    return this.quotas.setLimits(ctx, id, dto);
  }

  @Get('workspaces/:workspaceId/usage')
  @RequirePermission('workspace:read')
  @ApiOperation({ operationId: 'getWorkspaceUsage', summary: 'Live usage against every limit, with when each count resets' })
  usage(@Tenant() ctx: TenantContext, @Param('workspaceId', idOf('workspace')) id: string): Promise<WorkspaceUsageResponseDto> {
    return this.quotas.workspaceUsage(ctx, id);
  }
}
