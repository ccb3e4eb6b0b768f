import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { TenantContext } from 'src/tenancy/tenant-context';
import { ApiTokensService } from 'src/workspaces/api-tokens.service';
import {
  CreateTokenDto,
  IssuedTokenResponseDto,
  TokenListResponseDto,
  TokenResponseDto,
  UpdateTokenDto,
} from 'src/workspaces/dto/token.dto';

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/workspaces/:workspaceId/tokens')
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @Post()
  @RequirePermission('token:admin')
  @ApiOperation({ operationId: 'createToken', summary: 'Issue a workspace token (the secret is shown once)' })
  create(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) workspaceId: string,
    @Body() dto: CreateTokenDto,
  ): Promise<IssuedTokenResponseDto> {
    return this.tokens.create(ctx, workspaceId, dto);
  }

  @Get()
  @RequirePermission('token:admin')
  @ApiOperation({ operationId: 'listTokens', summary: "A workspace's tokens (never the secrets)" })
  async list(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) workspaceId: string,
  ): Promise<TokenListResponseDto> {
    return { items: await this.tokens.list(ctx, workspaceId) };
  }

  @Get(':tokenId')
  @RequirePermission('token:admin')
  @ApiOperation({ operationId: 'getToken', summary: 'Get a token' })
  get(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) workspaceId: string,
    @Param('tokenId', idOf('token')) tokenId: string,
  ): Promise<TokenResponseDto> {
    return this.tokens.get(ctx, workspaceId, tokenId);
  }

  @Patch(':tokenId')
  @RequirePermission('token:admin')
  @ApiOperation({ operationId: 'updateToken', summary: 'Rename a token or change its role' })
  update(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) workspaceId: string,
    @Param('tokenId', idOf('token')) tokenId: string,
    @Body() dto: UpdateTokenDto,
  ): Promise<TokenResponseDto> {
    return this.tokens.update(ctx, workspaceId, tokenId, dto);
  }

  @Delete(':tokenId')
  @HttpCode(200)
  @RequirePermission('token:admin')
  @ApiOperation({ operationId: 'revokeToken', summary: 'Revoke a token (it stops working at once)' })
  revoke(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) workspaceId: string,
    @Param('tokenId', idOf('token')) tokenId: string,
  ): Promise<TokenResponseDto> {
    return this.tokens.revoke(ctx, workspaceId, tokenId);
  }

  @Post(':tokenId/rotate')
  @RequirePermission('token:admin')
  @ApiOperation({ operationId: 'rotateToken', summary: 'Replace the secret of a token (the new one is shown once)' })
  rotate(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) workspaceId: string,
    @Param('tokenId', idOf('token')) tokenId: string,
  ): Promise<IssuedTokenResponseDto> {
    return this.tokens.rotate(ctx, workspaceId, tokenId);
  }
}
