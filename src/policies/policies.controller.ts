import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { PolicyDocumentDto } from 'src/policies/dto/policy-document.dto';
import { OrganisationPolicyResponseDto, WorkspacePolicyResponseDto } from 'src/policies/dto/policy-response.dto';
import { PoliciesService } from 'src/policies/policies.service';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('policies')
@ApiBearerAuth()
@Controller('v1')
export class PoliciesController {
  constructor(private readonly policies: PoliciesService) {}

  @Get('policies/organisation')
  @RequirePermission('workspace:read')
  @ApiOperation({ operationId: 'getOrganisationPolicy', summary: 'The organisation-wide default policy every workspace starts from' })
  getOrganisation(@Tenant() ctx: TenantContext): Promise<OrganisationPolicyResponseDto> {
    return this.policies.getOrganisation(ctx);
  }

  @Put('policies/organisation')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'setOrganisationPolicy', summary: 'Replace the organisation default policy (organisation admin)' })
  setOrganisation(@Tenant() ctx: TenantContext, @Body() dto: PolicyDocumentDto): Promise<OrganisationPolicyResponseDto> {
    return this.policies.setOrganisation(ctx, dto);
  }

  @Get('workspaces/:workspaceId/policy')
  @RequirePermission('workspace:read')
  @ApiOperation({ operationId: 'getWorkspacePolicy', summary: "A workspace's policy, the organisation default and the effective policy" })
  getWorkspace(@Tenant() ctx: TenantContext, @Param('workspaceId', idOf('workspace')) id: string): Promise<WorkspacePolicyResponseDto> {
    return this.policies.getWorkspace(ctx, id);
  }

  @Put('workspaces/:workspaceId/policy')
  @RequirePermission('policy:admin')
  @ApiOperation({
    operationId: 'setWorkspacePolicy',
    summary: "Replace a workspace's policy (it may only narrow the organisation default; 400 names each field that widens)",
  })
  setWorkspace(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) id: string,
    @Body() dto: PolicyDocumentDto,
  ): Promise<WorkspacePolicyResponseDto> {
    return this.policies.setWorkspace(ctx, id, dto);
  }
}
