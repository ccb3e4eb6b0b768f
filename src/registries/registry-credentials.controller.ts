import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { PutRegistryCredentialDto, RegistryCredentialListResponseDto, RegistryCredentialResponseDto } from 'src/registries/dto/registry-credential.dto';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('registries')
@ApiBearerAuth()
@Controller('v1/registry-credentials')
export class RegistryCredentialsController {
  constructor(private readonly credentials: RegistryCredentialsService) {}

  @Put()
  @RequirePermission('workspace:admin')
  @ApiOperation({
    operationId: 'putRegistryCredential',
    summary: "Store (or replace) this workspace's credentials for a registry host; the password is write-only",
  })
  put(@Tenant() ctx: TenantContext, @Body() dto: PutRegistryCredentialDto): Promise<RegistryCredentialResponseDto> {
    return this.credentials.put(ctx, dto);
  }

  @Get()
  @RequirePermission('workspace:admin')
  @ApiOperation({ operationId: 'listRegistryCredentials', summary: "This workspace's registry credentials (host and username only)" })
  async list(@Tenant() ctx: TenantContext): Promise<RegistryCredentialListResponseDto> {
    return { items: await this.credentials.list(ctx) };
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('workspace:admin')
  @ApiOperation({ operationId: 'deleteRegistryCredential', summary: 'Delete registry credentials' })
  async remove(@Tenant() ctx: TenantContext, @Param('id', idOf('registry credential')) id: string): Promise<void> {
    await this.credentials.remove(ctx, id);
  }
}
