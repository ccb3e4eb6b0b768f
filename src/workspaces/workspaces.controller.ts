import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { TenantContext } from 'src/tenancy/tenant-context';
import {
  CreateWorkspaceDto,
  UpdateWorkspaceDto,
  WorkspaceListResponseDto,
  WorkspaceResponseDto,
} from 'src/workspaces/dto/workspace.dto';
import { WorkspacesService } from 'src/workspaces/workspaces.service';

@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('v1/workspaces')
export class WorkspacesController {
  constructor(private readonly workspaces: WorkspacesService) {}

  @Post()
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'createWorkspace', summary: 'Create a workspace (organisation admin)' })
  create(@Tenant() ctx: TenantContext, @Body() dto: CreateWorkspaceDto): Promise<WorkspaceResponseDto> {
    return this.workspaces.create(ctx, dto);
  }

  @Get()
  @RequirePermission('workspace:read')
  @ApiOperation({ operationId: 'listWorkspaces', summary: 'Workspaces visible to this token' })
  async list(@Tenant() ctx: TenantContext): Promise<WorkspaceListResponseDto> {
    return { items: await this.workspaces.list(ctx) };
  }

  @Get(':workspaceId')
  @RequirePermission('workspace:read')
  @ApiOperation({ operationId: 'getWorkspace', summary: 'Get a workspace' })
  get(@Tenant() ctx: TenantContext, @Param('workspaceId', idOf('workspace')) id: string): Promise<WorkspaceResponseDto> {
    return this.workspaces.get(ctx, id);
  }

  @Patch(':workspaceId')
  @RequirePermission('workspace:admin')
  @ApiOperation({ operationId: 'updateWorkspace', summary: 'Rename, change settings or status (status: organisation admin)' })
  update(
    @Tenant() ctx: TenantContext,
    @Param('workspaceId', idOf('workspace')) id: string,
    @Body() dto: UpdateWorkspaceDto,
  ): Promise<WorkspaceResponseDto> {
    return this.workspaces.update(ctx, id, dto);
  }

  @Delete(':workspaceId')
  @HttpCode(200)
  @RequirePermission('org:admin')
  @ApiOperation({ operationId: 'archiveWorkspace', summary: 'Archive a workspace (final; its tokens stop working)' })
  archive(@Tenant() ctx: TenantContext, @Param('workspaceId', idOf('workspace')) id: string): Promise<WorkspaceResponseDto> {
    return this.workspaces.archive(ctx, id);
  }
}
