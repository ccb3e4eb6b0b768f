import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

export class WhoAmIResponseDto {
  /** organisation | workspace */
  kind!: string;
  token_id!: string;
  token_name!: string;
  workspace_id!: string | null;
  role!: string | null;
  permissions!: string[];
}

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  @Get()
  @RequirePermission('authenticated')
  @ApiOperation({ operationId: 'whoAmI', summary: 'The calling token, its workspace and permissions' })
  whoAmI(@Tenant() ctx: TenantContext): WhoAmIResponseDto {
    const p = ctx.principal;
    return {
      kind: p.kind,
      token_id: p.tokenId,
      token_name: p.tokenName,
      workspace_id: p.kind === 'workspace' ? p.workspaceId : null,
      role: p.kind === 'workspace' ? p.role : null,
      permissions: [...ctx.permissions].sort(),
    };
  }
}
