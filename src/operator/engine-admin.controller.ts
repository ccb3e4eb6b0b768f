import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  EngineContainerInspectResponseDto,
  EngineGcDto,
  EngineGcResponseDto,
  EngineLogsQueryDto,
  EngineLogsResponseDto,
  EngineObjectListResponseDto,
  EngineObjectResponseDto,
  EngineObjectsQueryDto,
} from 'src/operator/dto/engine-admin.dto';
import { EngineAdminService } from 'src/operator/engine-admin.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

/** What OrcaOps runs on the engine, for organisation admins (docs/operations.md). */
@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/engine')
export class EngineAdminController {
  constructor(private readonly engine: EngineAdminService) {}

  @Get('objects')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'listEngineObjects', summary: 'Containers, volumes and networks OrcaOps manages, with kind, workspace, age and orphans' })
  async list(@Tenant() ctx: TenantContext, @Query() q: EngineObjectsQueryDto): Promise<EngineObjectListResponseDto> {
    return { items: await this.engine.list(ctx, { orphans: q.orphans, type: q.type }) };
  }

  @Get('containers/:ref')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'inspectEngineContainer', summary: 'One managed container (id, unique id prefix or name)' })
  inspect(@Tenant() ctx: TenantContext, @Param('ref') ref: string): Promise<EngineContainerInspectResponseDto> {
    return this.engine.inspect(ctx, ref);
  }

  @Get('containers/:ref/logs')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'getEngineContainerLogs', summary: 'The end of a managed container’s output' })
  logs(@Tenant() ctx: TenantContext, @Param('ref') ref: string, @Query() q: EngineLogsQueryDto): Promise<EngineLogsResponseDto> {
    return this.engine.logs(ctx, ref, q.tail_bytes);
  }

  @Post('containers/:ref/stop')
  @HttpCode(200)
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'stopEngineContainer', summary: 'Kill a managed container (its record, if any, is not changed)' })
  stop(@Tenant() ctx: TenantContext, @Param('ref') ref: string): Promise<EngineObjectResponseDto> {
    return this.engine.stop(ctx, ref);
  }

  @Delete('containers/:ref')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'removeEngineContainer', summary: 'Remove a managed container and its workspace volume' })
  removeContainer(@Tenant() ctx: TenantContext, @Param('ref') ref: string): Promise<EngineObjectResponseDto> {
    return this.engine.remove(ctx, 'container', ref);
  }

  @Delete('volumes/:name')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'removeEngineVolume', summary: 'Remove a managed volume (409 while a container uses it)' })
  removeVolume(@Tenant() ctx: TenantContext, @Param('name') name: string): Promise<EngineObjectResponseDto> {
    return this.engine.remove(ctx, 'volume', name);
  }

  @Delete('networks/:name')
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'removeEngineNetwork', summary: 'Remove a managed network' })
  removeNetwork(@Tenant() ctx: TenantContext, @Param('name') name: string): Promise<EngineObjectResponseDto> {
    return this.engine.remove(ctx, 'network', name);
  }

  @Post('gc')
  @HttpCode(200)
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'collectEngineOrphans', summary: 'Remove every orphan (dry_run: list them only)' })
  gc(@Tenant() ctx: TenantContext, @Body() dto: EngineGcDto): Promise<EngineGcResponseDto> {
    return this.engine.gc(ctx, dto.dry_run === true);
  }
}
