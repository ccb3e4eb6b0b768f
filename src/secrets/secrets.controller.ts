import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SecretListResponseDto, SecretResponseDto, SetSecretDto, SetSecretResponseDto } from 'src/secrets/dto/secret.dto';
import { SecretsService } from 'src/secrets/secrets.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('secrets')
@ApiBearerAuth()
@Controller('v1/secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @RequirePermission('secret:read')
  @ApiOperation({ operationId: 'listSecrets', summary: "The workspace's secrets and the organisation's it inherits: names and metadata, never values" })
  async list(@Tenant() ctx: TenantContext): Promise<SecretListResponseDto> {
    return { items: await this.secrets.list(ctx) };
  }

  @Get('organisation')
  @RequirePermission('secret:read')
  @ApiOperation({ operationId: 'listOrganisationSecrets', summary: "The organisation's secrets (inherited by every workspace): names and metadata, never values" })
  async listOrganisation(@Tenant() ctx: TenantContext): Promise<SecretListResponseDto> {
    return { items: await this.secrets.listOrganisation(ctx) };
  }

  @Put('organisation/:name')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'setOrganisationSecret', summary: 'Create or replace an organisation secret (write-only; organisation admin)' })
  setOrganisation(@Tenant() ctx: TenantContext, @Param('name') name: string, @Body() dto: SetSecretDto): Promise<SetSecretResponseDto> {
    return this.secrets.setOrganisation(ctx, name, dto.value);
  }

  @Delete('organisation/:name')
  @HttpCode(200)
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'deleteOrganisationSecret', summary: 'Delete an organisation secret (organisation admin)' })
  removeOrganisation(@Tenant() ctx: TenantContext, @Param('name') name: string): Promise<SecretResponseDto> {
    return this.secrets.removeOrganisation(ctx, name);
  }

  @Put(':name')
  @RequirePermission('secret:admin')
  @ApiOperation({ operationId: 'setSecret', summary: 'Create or replace a workspace secret (write-only: the value is never returned)' })
  set(@Tenant() ctx: TenantContext, @Param('name') name: string, @Body() dto: SetSecretDto): Promise<SetSecretResponseDto> {
    return this.secrets.set(ctx, name, dto.value);
  }

  @Delete(':name')
  @HttpCode(200)
  @RequirePermission('secret:admin')
  @ApiOperation({ operationId: 'deleteSecret', summary: 'Delete a workspace secret' })
  remove(@Tenant() ctx: TenantContext, @Param('name') name: string): Promise<SecretResponseDto> {
    return this.secrets.remove(ctx, name);
  }
}
