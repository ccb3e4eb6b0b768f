import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { JobResponseDto } from 'src/jobs/dto/job-response.dto';
import { CreateSandboxDto, ExtendSandboxDto, RunSandboxProfileDto } from 'src/sandboxes/dto/create-sandbox.dto';
import { ListSandboxesQueryDto } from 'src/sandboxes/dto/list-sandboxes.dto';
import { SandboxListResponseDto, SandboxProfileListResponseDto, SandboxResponseDto } from 'src/sandboxes/dto/sandbox-response.dto';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('sandboxes')
@ApiBearerAuth()
@Controller('v1/sandboxes')
export class SandboxesController {
  constructor(private readonly sandboxes: SandboxesService) {}

  @Post()
  @RequirePermission('sandbox:create')
  @ApiOperation({
    operationId: 'createSandbox',
    summary: 'Start a long-lived, locked-down sandbox from an image or a profile',
    description:
      'Returns once the sandbox is ready (status "ready"), or an error. It ends at its TTL, after its idle timeout ' +
      '(no API call and no running process), or when deleted. Pre-started containers are used when the operator keeps a pool.',
  })
  create(@Tenant() ctx: TenantContext, @Body() dto: CreateSandboxDto): Promise<SandboxResponseDto> {
    return this.sandboxes.create(ctx, dto);
  }

  @Get()
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'listSandboxes', summary: 'Sandboxes of this workspace, newest first (filter by status and labels)' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListSandboxesQueryDto): Promise<SandboxListResponseDto> {
    return this.sandboxes.list(ctx, { status: q.status, labels: q.label ?? [], sessionId: q.session_id, cursor: q.cursor, limit: q.limit ?? 50 });
  }

  @Get(':id')
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'getSandbox', summary: 'A sandbox and its state' })
  get(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string): Promise<SandboxResponseDto> {
    return this.sandboxes.get(ctx, id);
  }

  @Post(':id/extend')
  @HttpCode(200)
  @RequirePermission('sandbox:create')
  @ApiOperation({ operationId: 'extendSandbox', summary: 'Keep a sandbox alive: it now expires ttl_seconds from now' })
  extend(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Body() dto: ExtendSandboxDto): Promise<SandboxResponseDto> {
    return this.sandboxes.extend(ctx, id, dto.ttl_seconds);
  }

  @Delete(':id')
  @HttpCode(200)
  @RequirePermission('sandbox:delete')
  @ApiOperation({ operationId: 'deleteSandbox', summary: 'Stop a sandbox and remove its container; returns it stopped' })
  remove(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string): Promise<SandboxResponseDto> {
    return this.sandboxes.delete(ctx, id);
  }
}

@ApiTags('sandboxes')
@ApiBearerAuth()
@Controller('v1/sandbox-profiles')
export class SandboxProfilesController {
  constructor(private readonly sandboxes: SandboxesService) {}

  @Get()
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'listSandboxProfiles', summary: 'Named sandbox profiles from the operator catalogue (sandboxes.yml)' })
  list(@Tenant() ctx: TenantContext): SandboxProfileListResponseDto {
    return { items: this.sandboxes.listProfiles(ctx) };
  }

  @Post(':name/run')
  @RequirePermission('job:create')
  @ApiOperation({
    operationId: 'runSandboxProfile',
    summary: "Run a profile's command once, as a job (returns the queued job)",
    description: 'Uses the profile\'s image, command, resources, timeout, env and cleanup policy. The job succeeds when the exit code is one of the profile\'s success_exit_codes (default [0]).',
  })
  run(@Tenant() ctx: TenantContext, @Param('name') name: string, @Body() dto: RunSandboxProfileDto): Promise<JobResponseDto> {
    return this.sandboxes.runProfile(ctx, name, dto);
  }
}
