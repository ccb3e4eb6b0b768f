import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { CreateEnvironmentDto, ListEnvironmentsQueryDto } from 'src/environments/dto/create-environment.dto';
import { EnvironmentListResponseDto, EnvironmentResponseDto, EnvironmentTemplateListResponseDto } from 'src/environments/dto/environment-response.dto';
import { EnvironmentsService } from 'src/environments/environments.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('environments')
@ApiBearerAuth()
@Controller('v1/environments')
export class EnvironmentsController {
  constructor(private readonly environments: EnvironmentsService) {}

  @Post()
  @RequirePermission('environment:create')
  @ApiOperation({
    operationId: 'createEnvironment',
    summary: 'Start an environment: a sandbox plus companion services on its private network',
    description:
      'From a template (GET /v1/environment-templates) or a compose-subset project file. Returns at once with status "starting"; ' +
      'services start in dependency order and must pass their health checks, then the sandbox starts on their network and the ' +
      'environment is "ready". Poll GET /v1/environments/{id} (events shows the progress). Reach a service from the sandbox by its name.',
  })
  create(@Tenant() ctx: TenantContext, @Body() dto: CreateEnvironmentDto): Promise<EnvironmentResponseDto> {
    return this.environments.create(ctx, dto);
  }

  @Get()
  @RequirePermission('environment:read')
  @ApiOperation({ operationId: 'listEnvironments', summary: 'Environments of this workspace, newest first (the latest 100)' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListEnvironmentsQueryDto): Promise<EnvironmentListResponseDto> {
    return this.environments.list(ctx, { status: q.status });
  }

  @Get(':id')
  @RequirePermission('environment:read')
  @ApiOperation({ operationId: 'getEnvironment', summary: "An environment, its services' states and its sandbox" })
  get(@Tenant() ctx: TenantContext, @Param('id', idOf('environment')) id: string): Promise<EnvironmentResponseDto> {
    return this.environments.get(ctx, id);
  }

  @Delete(':id')
  @HttpCode(200)
  @RequirePermission('environment:delete')
  @ApiOperation({ operationId: 'deleteEnvironment', summary: 'Stop an environment: its sandbox, service containers, network and volumes are removed' })
  remove(@Tenant() ctx: TenantContext, @Param('id', idOf('environment')) id: string): Promise<EnvironmentResponseDto> {
    return this.environments.delete(ctx, id);
  }
}

@ApiTags('environments')
@ApiBearerAuth()
@Controller('v1/environment-templates')
export class EnvironmentTemplatesController {
  constructor(private readonly environments: EnvironmentsService) {}

  @Get()
  @RequirePermission('environment:read')
  @ApiOperation({ operationId: 'listEnvironmentTemplates', summary: 'Environment templates from the operator catalogue (sandboxes.yml environments:)' })
  list(@Tenant() ctx: TenantContext): EnvironmentTemplateListResponseDto {
    return { items: this.environments.templates(ctx) };
  }
}
